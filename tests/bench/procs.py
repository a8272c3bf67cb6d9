"""The environment a benchmark starts dibs (or a floor script) in: as a user's shell would.

An installed dibs has its bytecode: pip compiles it at install time, and a plain `python`
writes `__pycache__` on first run. This sandbox sets PYTHONDONTWRITEBYTECODE=1, under which
every start of an editable checkout compiles dibs' ~90 modules again (0.1 s on this machine,
0.07x of the lean allocation floor), a cost no user pays. So the child runs without it, its
bytecode cached outside the checkout, and without DIBS_DB (the benchmarks pass --db).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def child_env(root: Path) -> dict[str, str]:
    """os.environ for a child importing the checkout at `root`, with its bytecode cached."""
    env = {k: v for k, v in os.environ.items() if k not in ("DIBS_DB", "PYTHONDONTWRITEBYTECODE")}
    env["PYTHONPATH"] = str(root)
    env.setdefault("PYTHONPYCACHEPREFIX", os.path.join(tempfile.gettempdir(), "dibs-bench-pycache"))
    return env
