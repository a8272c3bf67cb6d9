"""SQLite writers of one process take turns on a lock in `Store.write` (not in SQLite's
busy-poll), and still give up like SQLite does: "database is locked", retried whole."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
from sqlalchemy import text

import engine.store.database as database
from engine.store import Store
from engine.store.database import is_retryable


def test_threads_writing_at_once_all_commit_in_turn(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'w.db'}")
    with store.write() as conn:
        conn.execute(text("CREATE TABLE counter (n INTEGER)"))
        conn.execute(text("INSERT INTO counter VALUES (0)"))

    def bump() -> None:
        for _ in range(25):
            store.transaction(lambda c: c.execute(text("UPDATE counter SET n = n + 1")))

    threads = [threading.Thread(target=bump) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    with store.read() as conn:
        assert conn.execute(text("SELECT n FROM counter")).scalar_one() == 200
    assert store.conflicts == {}  # nobody met SQLite's "database is locked"
    store.dispose()


def test_a_writer_that_waits_too_long_is_told_the_database_is_locked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'w.db'}")
    monkeypatch.setattr(database, "SQLITE_BUSY_SECONDS", 0.2)
    holding, done = threading.Event(), threading.Event()

    def hold() -> None:
        with store.write():
            holding.set()
            done.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    assert holding.wait(10)
    try:
        locked = pytest.raises(sqlite3.OperationalError, match="database is locked")
        with locked as caught, store.write():
            pass
        assert is_retryable(caught.value)  # Store.transaction runs it again, as before
    finally:
        done.set()
        holder.join(10)
        store.dispose()
