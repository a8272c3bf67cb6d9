"""Syncs racing on PostgreSQL (SPEC §9, §10 "several servers"): the sync locks per order id.

Two deliveries of one order may reach two servers (or two threads of one) at once, an older
copy just behind a newer one. The later transaction must judge its copy against what the
earlier one committed: an older copy is stale, never applied over the newer. Deliveries of
different orders must not wait for each other. Deterministic: one sync is held open after it
wrote, at the moment a judge reading the marks without the lock would go wrong.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

import engine.service.sync as sync_module
from engine.io.incoming import IncomingOrder
from engine.model import Order, OrderStatus
from engine.service import Service
from engine.store import Store
from engine.store.sync_lock import SYNC_KEY_LOCKS, SYNC_LOCK_KEY, sync_key
from tests.helpers import order

U0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
HOLD = 0.6  # seconds the first sync stays open after writing


def copy(o: Order, minutes: int) -> IncomingOrder:
    return IncomingOrder(o, OrderStatus.AWAITING_FULFILLMENT, U0 + timedelta(minutes=minutes))


class Held:
    """Makes `write_sync_marks` (the last write of a sync) wait in one named thread."""

    def __init__(self, thread_name: str) -> None:
        self.thread_name = thread_name
        self.reached = threading.Event()
        self.real = sync_module.write_sync_marks

    def __call__(self, *args: Any, **kwargs: Any) -> None:
        self.real(*args, **kwargs)
        if threading.current_thread().name == self.thread_name:
            self.reached.set()
            time.sleep(HOLD)


def _run(name: str, work: Callable[[], Any]) -> tuple[threading.Thread, list[Any]]:
    out: list[Any] = []

    def target() -> None:
        try:
            out.append(work())
        except Exception as exc:  # handed to the test
            out.append(exc)

    thread = threading.Thread(target=target, name=name)
    thread.start()
    return thread, out


@pytest.mark.parametrize("others", [0, SYNC_KEY_LOCKS + 8], ids=["one order", "a whole file"])
def test_an_older_copy_behind_a_newer_one_is_stale_not_applied(
    pg: Store, monkeypatch: pytest.MonkeyPatch, others: int
) -> None:
    """`others` more orders in the newer sync: a delivery (per-order locks) or a file (the
    sync-wide lock, exclusive)."""
    svc = Service(pg)
    svc.sync_orders([copy(order("#1", ("MUG", 1)), minutes=0)])
    held = Held("newer")
    monkeypatch.setattr(sync_module, "write_sync_marks", held)
    newer = [copy(order("#1", ("MUG", 3)), minutes=10)]
    newer += [copy(order(f"#x{n}", ("HAT", 1)), minutes=10) for n in range(others)]
    first, first_out = _run("newer", lambda: svc.sync_orders(newer))
    assert held.reached.wait(30)
    second, second_out = _run("older", lambda: svc.sync_orders([copy(order("#1", ("MUG", 2)), 5)]))
    first.join(30)
    second.join(30)
    newer_report, older_report = first_out[0], second_out[0]
    assert newer_report.updated == ["#1"], newer_report
    assert older_report.stale == ["#1"], older_report
    assert [line.qty for line in svc.get_order("#1").lines] == [3]


def test_syncs_of_different_orders_do_not_wait_for_each_other(
    pg: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    svc = Service(pg)
    held = Held("slow")
    monkeypatch.setattr(sync_module, "write_sync_marks", held)
    slow, slow_out = _run("slow", lambda: svc.sync_orders([copy(order("#1", ("MUG", 1)), 0)]))
    assert held.reached.wait(30)
    started = time.monotonic()
    other = svc.sync_orders([copy(order("#2", ("MUG", 1)), 0)])
    took = time.monotonic() - started
    still_open = slow.is_alive()
    slow.join(30)
    assert other.created == ["#2"] and slow_out[0].created == ["#1"]
    assert still_open and took < HOLD, f"the second sync waited {took:.2f} s for the first"


def test_a_new_order_delivered_twice_at_once_is_created_once(
    pg: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    svc = Service(pg)
    held = Held("first")
    monkeypatch.setattr(sync_module, "write_sync_marks", held)
    first, first_out = _run("first", lambda: svc.sync_orders([copy(order("#1", ("MUG", 1)), 0)]))
    assert held.reached.wait(30)
    again = svc.sync_orders([copy(order("#1", ("MUG", 1)), 0)])
    first.join(30)
    assert first_out[0].created == ["#1"] and again.unchanged == ["#1"]
    assert pg.conflicts == {}  # it waited for the lock, it did not collide on the insert


def _advisory_locks(conn: Any) -> list[tuple[int, str]]:
    rows = conn.execute(
        text(
            "SELECT (classid::bigint << 32) | objid::bigint, mode FROM pg_locks "
            "WHERE locktype = 'advisory' AND pid = pg_backend_pid()"
        )
    ).all()
    return sorted((int(k), m) for k, m in rows)


def test_a_few_orders_lock_their_ids_and_a_file_takes_the_sync_wide_lock(pg: Store) -> None:
    few = [f"#{n}" for n in range(SYNC_KEY_LOCKS)]
    with pg.write() as conn:
        pg.lock_sync(conn, few + few)  # repeated ids: one lock each
        taken = _advisory_locks(conn)
    assert taken == sorted(
        [(SYNC_LOCK_KEY, "ShareLock")] + [(sync_key(i), "ExclusiveLock") for i in few]
    )
    with pg.write() as conn:
        pg.lock_sync(conn, [*few, "#one-more"])
        assert _advisory_locks(conn) == [(SYNC_LOCK_KEY, "ExclusiveLock")]
    with pg.write() as conn:  # released with the transaction
        assert _advisory_locks(conn) == []
