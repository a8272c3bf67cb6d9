"""Instruction counts of whole processes (valgrind), for ratios a busy machine cannot move.

    count_instructions(argv) -> int

On a shared 2-core machine the wall and CPU times of one run spread by ±20%; the number of
instructions a process executes does not (valgrind's cachegrind without its cache simulation:
about 30 times slower than the process itself). Instructions leave out what time also counts,
the kernel's share (writing the WAL, the checkpoint's fsync) and the cost of cache misses, so
they are a second figure beside the timed ones, not a replacement.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from procs import child_env  # run from tests/bench (sys.path), as floor_data is

ROOT = Path(__file__).resolve().parents[2]
_VALGRIND = ("valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null")
_REFS = re.compile(r"I\s+refs:\s+([\d,]+)")


def available() -> bool:
    return shutil.which("valgrind") is not None


def count_instructions(argv: Sequence[str], root: Path = ROOT) -> int:
    """The user-space instructions `argv` executes, run as a whole process under valgrind."""
    proc = subprocess.run(
        [*_VALGRIND, *argv],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=child_env(root),
        cwd=root,
        check=False,
    )
    err = proc.stderr.decode()
    found = _REFS.search(err)
    if proc.returncode != 0 or found is None:
        raise SystemExit(f"{' '.join(argv)} failed under valgrind ({proc.returncode}):\n{err}")
    return int(found.group(1).replace(",", ""))
