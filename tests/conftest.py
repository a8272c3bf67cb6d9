"""Shared fixtures: a store on SQLite (a temp file) and on PostgreSQL, with the same contract.

PostgreSQL tests read DIBS_TEST_POSTGRES_URL. Unset, they skip (a laptop without a server);
set, they must connect or fail loudly (CI sets it). Each pytest process works in its own
PostgreSQL schema, so parallel runs on one database never see each other's rows.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from engine.store import Store, metadata

# Subprocesses (`dibs` in e2e tests, workers) import this checkout, not whichever checkout the
# venv's editable install points at: a worktree's tests must run the worktree's code.
_ROOT = str(Path(__file__).resolve().parents[1])
os.environ["PYTHONPATH"] = os.pathsep.join(
    [_ROOT, *(p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p)]
)
# ... and cache their bytecode, outside the checkout, even where PYTHONDONTWRITEBYTECODE is set:
# the e2e tests start dibs hundreds of times, and an installed dibs has its .pyc files too.
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
os.environ.setdefault("PYTHONPYCACHEPREFIX", os.path.join(tempfile.gettempdir(), "dibs-pycache"))

PG_ENV = "DIBS_TEST_POSTGRES_URL"
_PG_SCHEMA = f"dibs_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"


def postgres_url() -> str | None:
    """The PostgreSQL URL for this test process (its own schema), or None when not configured."""
    base = os.environ.get(PG_ENV)
    if not base:
        return None
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{_PG_SCHEMA}"


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    base = postgres_base_url()
    engine = create_engine(base)
    with engine.begin() as conn:  # an unreachable server fails here, loudly
        conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{_PG_SCHEMA}"'))
    url = postgres_url()
    assert url is not None
    yield url
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{_PG_SCHEMA}" CASCADE'))
    engine.dispose()


def postgres_base_url() -> str:
    """$DIBS_TEST_POSTGRES_URL. Unset, a PostgreSQL test skips on a laptop and fails in CI
    (CI set), so a CI run can never pass without the PostgreSQL half of the suite."""
    base = os.environ.get(PG_ENV)
    if base:
        return base
    if os.environ.get("CI"):
        pytest.fail(f"{PG_ENV} is not set: CI must run the PostgreSQL tests", pytrace=False)
    pytest.skip(f"{PG_ENV} is not set: PostgreSQL tests skipped (CI sets it)")


_pg_store: Store | None = None


def _clean(store: Store) -> None:
    names = [t.name for t in reversed(metadata.sorted_tables)]
    with store.write() as conn:
        if store.is_postgres:
            conn.execute(text(f"TRUNCATE {', '.join(names)} RESTART IDENTITY CASCADE"))
        else:
            for name in names:
                conn.execute(text(f"DELETE FROM {name}"))


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """An empty, migrated store on each backend."""
    global _pg_store
    if request.param == "sqlite":
        s = Store.open(f"sqlite:///{tmp_path / 'dibs.db'}")
        yield s
        s.dispose()
        return
    url = request.getfixturevalue("pg_url")
    if _pg_store is None:
        _pg_store = Store.open(url)
    _clean(_pg_store)
    yield _pg_store


@pytest.fixture
def pg(pg_url: str) -> Iterator[Store]:
    """An empty PostgreSQL store with engines of its own (not the shared `store` fixture's), for
    race tests that hold transactions open from several threads; emptied before and after."""
    s = Store.open(pg_url)
    _clean(s)
    yield s
    _clean(s)
    s.dispose()


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    s = Store.open(f"sqlite:///{tmp_path / 'dibs.db'}")
    yield s
    s.dispose()


class FakeClock:
    """A clock tests move by hand; every call returns a strictly later time (stable ordering)."""

    def __init__(self, start: datetime = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)) -> None:
        self.now = start

    def __call__(self) -> datetime:
        self.now += timedelta(microseconds=1)
        return self.now

    def advance(self, **kw: float) -> None:
        self.now += timedelta(**kw)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
