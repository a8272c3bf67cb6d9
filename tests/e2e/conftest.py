"""Fixtures for end-to-end tests: the `dibs` command as a user types it.

`Dibs` runs each command in this process by default (`tests.helpers.run_dibs`: the console
script's `main` with its own output, environment, working directory and connections), which
proves what the commands do at a fraction of a process start each; the tests of the process
itself (exit codes through the console script, signals, `run` and `serve` loops, concurrent
commands, what reaches the real stdout) start the installed `dibs` (`Dibs(..., process=True)`,
the `dibs_process` fixture, or their own subprocess). DIBS_E2E_PROCESS=1 runs every command as
a real process, for a full-fidelity run of the whole e2e suite."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import run_dibs

DIBS = str(Path(sys.executable).parent / "dibs")
#: Every `Dibs` call as a real process (see the module docstring).
ALWAYS_A_PROCESS = os.environ.get("DIBS_E2E_PROCESS", "") not in ("", "0")


ROOT = Path(__file__).resolve().parents[2]


def dibs_env(**extra: str) -> dict[str, str]:
    """The environment `dibs` runs in: this checkout's code first (the installed command is
    an editable install of whichever checkout installed it), no DIBS_DB from outside."""
    env = {k: v for k, v in os.environ.items() if k != "DIBS_DB"}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    env.update(extra)
    return env


class Dibs:
    """Runs `dibs` against one database; every result is checked for tracebacks."""

    def __init__(self, db: str, cwd: Path, process: bool = False) -> None:
        self.db = db
        self.cwd = cwd
        self.process = process or ALWAYS_A_PROCESS

    def __call__(
        self, *args: str, expect: int = 0, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        if not self.process:
            result = run_dibs(["--db", self.db, *args], self.cwd, env)
        else:
            result = subprocess.run(
                [DIBS, "--db", self.db, *args],
                capture_output=True,
                text=True,
                cwd=self.cwd,
                env=dibs_env(**(env or {})),
                check=False,
            )
        assert "Traceback" not in result.stderr, result.stderr
        assert result.returncode == expect, (result.returncode, result.stdout, result.stderr)
        return result

    def json(self, *args: str) -> Any:
        return json.loads(self(*args, "--json").stdout)


@pytest.fixture
def dibs(tmp_path: Path) -> Dibs:
    return Dibs(f"sqlite:///{tmp_path / 'shop.db'}", tmp_path)


@pytest.fixture
def dibs_process(tmp_path: Path) -> Dibs:
    """`dibs` always as the installed command in a process of its own."""
    return Dibs(f"sqlite:///{tmp_path / 'shop.db'}", tmp_path, process=True)
