"""Fixtures for end-to-end tests: the installed `dibs` command in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

DIBS = str(Path(sys.executable).parent / "dibs")
ROOT = Path(__file__).resolve().parents[2]


class Dibs:
    """Runs `dibs` against one database; every result is checked for tracebacks."""

    def __init__(self, db: str, cwd: Path) -> None:
        self.db = db
        self.cwd = cwd

    def __call__(self, *args: str, expect: int = 0) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if k != "DIBS_DB"}
        # The installed script's editable finder points at one checkout; put this one first
        # so the tests run the code they sit next to (each worktree its own).
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        result = subprocess.run(
            [DIBS, "--db", self.db, *args],
            capture_output=True,
            text=True,
            cwd=self.cwd,
            env=env,
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
