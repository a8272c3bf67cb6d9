"""`orders import` streamed (engine.service.importing) on SQLite and PostgreSQL: chunks are
written as they are read, yet a problem or a taken id anywhere refuses the whole file."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from engine.errors import BadInput, OrdersExist
from engine.io.incoming import IncomingSource
from engine.service import Service, importing
from engine.service.sync import content_hash
from engine.store import Store, orders
from tests.helpers import T0, order, snapshot
from tests.integration.helpers import event_rows


@pytest.fixture
def svc(store: Store, clock: Callable[[], datetime], monkeypatch: pytest.MonkeyPatch) -> Service:
    monkeypatch.setattr(importing, "CHUNK", 4)  # a dozen orders make three chunks
    return Service(store, clock)


def write(tmp_path: Path, records: list[Any]) -> Path:
    path = tmp_path / "orders.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def record(n: int, **extra: Any) -> dict[str, Any]:
    return {"id": f"S{n}", "channel": "web", "lines": [{"sku": "MUG", "qty": 1}], **extra}


def test_every_chunk_is_written_with_its_events_and_sync_marks(
    svc: Service, store: Store, tmp_path: Path
) -> None:
    path = write(tmp_path, [record(n, total="9.50") for n in range(10)])
    seen: list[tuple[int, int]] = []
    source = IncomingSource(path, now=T0)
    created = svc.import_file(source, lambda done, total: seen.append((done, total)))
    assert created == [f"S{n}" for n in range(10)]
    assert seen == [(4, 10), (8, 10), (10, 10)]
    assert [e["order_id"] for e in event_rows(store, "order.created")] == created
    with store.read() as conn:
        hashes = dict(conn.execute(select(orders.c.id, orders.c.sync_hash)).all())
    expected = {i.id: content_hash(i) for chunk in source.chunks(100) for i in chunk}
    assert hashes == expected


def test_a_problem_in_the_last_chunk_refuses_the_whole_file(
    svc: Service, store: Store, tmp_path: Path
) -> None:
    records: list[Any] = [record(n) for n in range(11)]
    records[1] = record(1, total="-1")
    records.append(record(11, lines=[{"sku": "MUG", "qty": 0}]))
    path = write(tmp_path, records)
    before = snapshot(store)
    with pytest.raises(BadInput) as refused:
        svc.import_file(IncomingSource(path))
    assert refused.value.problems == [
        f"{path}:2: order 'S1': total must not be negative, got '-1'",
        f"{path}:12: order 'S11': lines[0].qty must be a positive integer, got 0",
    ]
    assert "2 problems, nothing imported" in str(refused.value)
    assert snapshot(store) == before


def test_ids_taken_in_any_chunk_are_named_with_their_lines(
    svc: Service, store: Store, tmp_path: Path
) -> None:
    svc.add_orders([order("S9", ("MUG", 1)), order("S2", ("MUG", 1))])
    before = snapshot(store)
    path = write(tmp_path, [record(n) for n in range(12)])
    with pytest.raises(OrdersExist) as refused:
        svc.import_file(IncomingSource(path))
    assert refused.value.ids == ["S2", "S9"]
    assert refused.value.places == {"S2": f"{path}:3", "S9": f"{path}:10"}
    assert snapshot(store) == before


def test_the_channel_override_and_a_channel_format(svc: Service, tmp_path: Path) -> None:
    path = write(tmp_path, [record(n) for n in range(5)])
    assert len(svc.import_file(IncomingSource(path, channel=" b2b "))) == 5
    assert {o["channel"] for o in svc.list_orders()} == {"b2b"}
    fixture = Path(__file__).resolve().parents[1] / "fixtures" / "channels"
    source = IncomingSource(fixture / "shopify_orders_export.csv")
    assert [s.order for s in source.skipped] == ["#1004"]
    assert sorted(svc.import_file(source)) == ["#1001", "#1002", "#1003"]
