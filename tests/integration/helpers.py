"""What integration tests look at: stock, statuses, reservations and every row of the database."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import delete, select

from engine.service import Service
from engine.store import Store, events, metadata
from tests.helpers import table_counts


def stock(svc: Service, sku: str, warehouse: str = "main") -> tuple[int, int, int]:
    """(on_hand, allocated, available) as `inventory list` shows them; (0, 0, 0) without a row."""
    for row in svc.list_inventory(sku):
        if row["warehouse"] == warehouse:
            return row["on_hand"], row["allocated"], row["available"]
    return 0, 0, 0


def status(svc: Service, oid: str) -> str:
    return str(svc.get_order(oid).allocation_status)


def statuses(svc: Service, *ids: str) -> dict[str, str]:
    return {oid: status(svc, oid) for oid in ids}


def reserved(svc: Service, oid: str) -> list[int]:
    return [line.reserved for line in svc.get_order(oid).lines]


def counts(store: Store) -> dict[str, int]:
    with store.read() as conn:
        return table_counts(conn)


def wipe(store: Store) -> None:
    """Delete every row of every table (children first), leaving the schema."""
    with store.write() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(delete(table))


def dump(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, sorted: proves that nothing at all was written or rewritten."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    with store.read() as conn:
        for table in metadata.sorted_tables:
            rows = conn.execute(select(table)).all()
            out[table.name] = sorted(tuple(map(repr, r)) for r in rows)
    return out


def event_rows(store: Store, type_: str | None = None) -> list[dict[str, Any]]:
    query = select(events).order_by(events.c.id)
    if type_:
        query = query.where(events.c.type == type_)
    with store.read() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


def dropped_during(monkeypatch: pytest.MonkeyPatch, work: Callable[[], Any]) -> list[str]:
    """The DROP INDEX statements a batch ran (`Bulk.query`) while `work` ran, whatever it
    raised: the indexes it deferred (engine.service.batch_indexes)."""
    from engine.store.bulk import Bulk

    seen: list[str] = []
    query = Bulk.query

    def spy(self: Bulk, sql: str, params: Any = ()) -> Any:
        seen.append(sql)
        return query(self, sql, params)

    monkeypatch.setattr(Bulk, "query", spy)
    try:
        work()
    finally:
        monkeypatch.setattr(Bulk, "query", query)
    return [sql for sql in seen if sql.startswith("DROP INDEX")]
