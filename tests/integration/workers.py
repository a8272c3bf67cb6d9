"""Scaffolding for the multi-process concurrency tests: run N worker
processes of one script (each gets its JSON arguments as argv[1] and prints one JSON line at the
end), and collect what each printed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def run_worker_processes(
    script: str, arguments: list[dict[str, Any]], timeout: float
) -> list[dict[str, Any]]:
    """Start one process per argument dict at once, wait for all, and return the JSON object
    each printed last. A worker that fails or times out fails the test with its stderr."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, json.dumps(args)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for args in arguments
    ]
    results: list[dict[str, Any]] = []
    try:
        for proc in procs:
            out, err = proc.communicate(timeout=timeout)
            assert proc.returncode == 0, err[-3000:]
            results.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    return results
