"""Deterministic races (issue #9, ../shared/repro): one transaction is held open at the moment
the old code went wrong while another runs; afterwards statuses agree with cover and nothing
escaped. Also: conflicts on any cursor are retried whole, and a bounded number of times."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import Connection

from engine.model import Line, Order
from engine.service import Service, batch, cover
from engine.store import Store
from engine.store.bulk import Bulk
from engine.store.database import Contention, RetryTransaction, is_retryable
from tests.integration.helpers import status
from tests.integration.invariants import assert_consistent

_T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _in_thread(name: str, work: Callable[[], Any]) -> tuple[threading.Thread, list[Any]]:
    """Start `work` in a thread called `name`; the list gets its result or its exception."""
    out: list[Any] = []

    def run() -> None:
        try:
            out.append(work())
        except Exception as exc:  # handed to the test, which asserts on it
            out.append(exc)

    thread = threading.Thread(target=run, name=name)
    thread.start()
    return thread, out


def _slow_in(thread_name: str, seconds: float, target: Callable[..., Any]) -> Callable[..., Any]:
    def slow(*args: Any, **kwargs: Any) -> Any:
        result = target(*args, **kwargs)
        if threading.current_thread().name == thread_name:
            time.sleep(seconds)  # hold the transaction open here
        return result

    return slow


def _two_sku_order(svc: Service) -> None:
    svc.change_stock("HOT2", "main", 1, "set")
    svc.change_stock("HOT3", "main", 1, "set")
    svc.add_orders([Order("O", "web", _T0, (Line("HOT2", 1), Line("HOT3", 1)))])
    svc.allocate(["O"])
    svc.change_stock("HOT2", "main", -1, "adjusted")
    assert status(svc, "O") == "overallocated"


def test_status_race_allocated_while_a_reservation_is_uncovered(
    pg: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """repro_status_race.py: A gives HOT2 back (O would be allocated) and waits before its
    commit; B takes HOT3 away meanwhile. O must end overallocated (HOT3 is uncovered)."""
    svc = Service(pg)
    _two_sku_order(svc)
    monkeypatch.setattr(cover, "refresh_status", _slow_in("A", 2.0, cover.refresh_status))
    thread, result = _in_thread("A", lambda: svc.change_stock("HOT2", "main", 1, "received"))
    time.sleep(0.5)
    svc.change_stock("HOT3", "main", -1, "adjusted")
    thread.join(30)
    assert not any(isinstance(r, Exception) for r in result), result
    assert status(svc, "O") == "overallocated"
    assert_consistent(pg)


def test_status_race_overallocated_although_everything_is_covered(
    pg: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """repro_status_race2.py: both reservations uncovered, two receipts race: O is allocated."""
    svc = Service(pg)
    _two_sku_order(svc)
    svc.change_stock("HOT3", "main", -1, "adjusted")
    monkeypatch.setattr(cover, "refresh_status", _slow_in("A", 2.0, cover.refresh_status))
    thread, result = _in_thread("A", lambda: svc.change_stock("HOT2", "main", 1, "received"))
    time.sleep(0.5)
    svc.change_stock("HOT3", "main", 1, "received")
    thread.join(30)
    assert not any(isinstance(r, Exception) for r in result), result
    assert status(svc, "O") == "allocated"
    assert_consistent(pg)


def test_batch_allocation_and_edit_take_locks_in_one_order(
    pg: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """repro_deadlock.py: the batch holds stock X while deciding; an edit of one of its orders
    arrives meanwhile. Both finish (no deadlock, nothing retried), in a consistent state."""
    svc = Service(pg)
    svc.change_stock("X", "main", 10, "set")
    svc.add_orders(
        [
            Order("A", "web", _T0, (Line("X", 1),)),
            Order("B", "web", _T0, (Line("X", 1),)),
        ]
    )
    monkeypatch.setattr(batch, "_decide_chunk", _slow_in("alloc", 2.0, batch._decide_chunk))
    thread, result = _in_thread("alloc", lambda: svc.allocate(None))
    time.sleep(0.7)
    edited = svc.edit("B", [("X", 2)])
    thread.join(30)
    assert not any(isinstance(r, Exception) for r in result), result
    assert [line.qty for line in edited.lines] == [2]
    assert pg.conflicts["deadlock"] == 0
    assert_consistent(pg)


def test_a_deadlock_on_the_raw_cursor_is_retried_whole(pg: Store) -> None:
    """psycopg errors from engine.store.bulk's raw cursor are not SQLAlchemy's DBAPIError; the
    deadlock they report is retried like any other."""
    Service(pg).import_inventory([("A", "main", 1), ("B", "main", 1)])
    barrier = threading.Barrier(2, timeout=20)
    runs: Counter[str] = Counter()
    lock = "SELECT on_hand FROM inventory WHERE sku = ? FOR UPDATE"

    def crossing(name: str, first: str, second: str) -> Callable[[Connection], str]:
        def work(conn: Connection) -> str:
            runs[name] += 1
            bulk = Bulk(conn)
            bulk.query(lock, (first,))
            if runs[name] == 1:
                barrier.wait()
            bulk.query(lock, (second,))
            return name

        return work

    one, out_one = _in_thread("one", lambda: pg.transaction(crossing("one", "A", "B")))
    two, out_two = _in_thread("two", lambda: pg.transaction(crossing("two", "B", "A")))
    one.join(60)
    two.join(60)
    assert (out_one, out_two) == (["one"], ["two"])
    assert sum(runs.values()) == 3  # one of them ran twice
    assert pg.conflicts["deadlock"] == 1


def test_driver_errors_are_classified_whichever_cursor_raised_them() -> None:
    assert is_retryable(psycopg.errors.DeadlockDetected("deadlock detected"))
    assert is_retryable(psycopg.errors.SerializationFailure("could not serialize"))
    assert is_retryable(RetryTransaction("lines changed"))
    assert not is_retryable(psycopg.errors.StringDataRightTruncation("too long"))
    assert not is_retryable(ValueError("a bug"))


def test_a_transaction_that_keeps_conflicting_gives_up_with_a_clear_message(
    store: Store,
) -> None:
    calls: list[int] = []

    def always(conn: Connection) -> None:
        calls.append(1)
        conn.execute(text("SELECT 1"))
        raise RetryTransaction("order lines changed")

    with pytest.raises(Contention, match=r"conflicted with concurrent ones 3 times") as info:
        store.transaction(always, attempts=3)
    assert len(calls) == 3
    assert info.value.exit_code == 1
    assert "nothing was changed" in str(info.value)


def test_other_errors_are_not_retried(store: Store) -> None:
    calls: list[int] = []

    def broken(conn: Connection) -> None:
        calls.append(1)
        raise ValueError("a bug")

    with pytest.raises(ValueError):
        store.transaction(broken)
    assert calls == [1]
