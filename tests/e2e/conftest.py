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


def dibs_env(**extra: str) -> dict[str, str]:
    """The environment `dibs` runs in: this checkout's code first (the installed command is
    an editable install of whichever checkout installed it), no DIBS_DB from outside."""
    env = {k: v for k, v in os.environ.items() if k != "DIBS_DB"}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    env.update(extra)
    return env


class Dibs:
    """Runs `dibs` against one database; every result is checked for tracebacks."""

    def __init__(self, db: str, cwd: Path) -> None:
        self.db = db
        self.cwd = cwd

    def __call__(
        self, *args: str, expect: int = 0, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        env = dibs_env(**(env or {}))
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
