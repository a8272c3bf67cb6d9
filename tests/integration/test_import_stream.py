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
from tests.helpers import T0, order, snapshot, write_locked
from tests.integration.helpers import dropped_during, event_rows


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


def _indexes(store: Store) -> list[str]:
    """The definitions of the secondary indexes an import may defer (SQLite's `sql`)."""
    from sqlalchemy import text

    from engine.service.batch_indexes import IMPORT

    names = ", ".join(f"'{index.name}'" for index, _, _ in IMPORT)
    if store.is_postgres:
        sql = (
            f"SELECT indexdef FROM pg_indexes WHERE indexname IN ({names}) "
            "AND schemaname = current_schema() ORDER BY indexname"
        )
    else:
        sql = f"SELECT sql FROM sqlite_master WHERE name IN ({names}) ORDER BY name"
    with store.read() as conn:
        return list(conn.execute(text(sql)).scalars())


def test_a_big_import_builds_the_indexes_once_and_the_same(
    svc: Service, store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy import text

    from engine.service import batch_indexes

    before = _indexes(store)
    assert len(before) == 6
    monkeypatch.setattr(batch_indexes, "DEFER_INDEX_AT", 1)  # every file counts as big
    path = write(tmp_path, [record(n, tags=["vip"] * (n % 2)) for n in range(10)])
    created: list[str] = []
    dropped = dropped_during(
        monkeypatch, lambda: created.extend(svc.import_file(IncomingSource(path)))
    )
    assert len(created) == 10
    assert _indexes(store) == before
    if store.is_postgres:
        assert dropped == []  # SQLite only
        return
    assert sorted(dropped) == sorted(f"DROP INDEX {i.name}" for i, _, _ in batch_indexes.IMPORT)
    with store.read() as conn:
        assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"
        tagged = "SELECT order_id FROM order_tags INDEXED BY ix_order_tags_tag WHERE tag = 'vip'"
        assert sorted(conn.execute(text(tagged)).scalars()) == ["S1", "S3", "S5", "S7", "S9"]


def test_a_refused_big_import_keeps_the_indexes_and_writes_nothing(
    svc: Service, store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from engine.service import batch_indexes

    before, rows = _indexes(store), snapshot(store)
    monkeypatch.setattr(batch_indexes, "DEFER_INDEX_AT", 1)
    records: list[Any] = [record(n) for n in range(11)]
    records.append(record(11, lines=[{"sku": "MUG", "qty": 0}]))  # the third chunk
    path = write(tmp_path, records)

    def refused() -> None:
        with pytest.raises(BadInput):
            svc.import_file(IncomingSource(path))

    dropped = dropped_during(monkeypatch, refused)
    assert len(dropped) == (0 if store.is_postgres else 6)
    assert _indexes(store) == before
    assert snapshot(store) == rows


def test_the_indexes_stay_when_the_tables_outweigh_the_file(
    svc: Service, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from engine.service import batch_indexes

    known = write(tmp_path, [record(n, tags=["vip"]) for n in range(13)])
    assert len(svc.import_file(IncomingSource(known))) == 13  # more rows than 6 per new order
    monkeypatch.setattr(batch_indexes, "DEFER_INDEX_AT", 1)
    path = tmp_path / "two.jsonl"
    path.write_text("".join(json.dumps(record(n)) + "\n" for n in (20, 21)))
    dropped = dropped_during(monkeypatch, lambda: svc.import_file(IncomingSource(path)))
    assert dropped == []


def test_the_first_chunk_is_read_before_the_write_transaction(
    svc: Service, store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from contextlib import contextmanager

    from engine.io import incoming

    seen: list[str] = []
    made, write = incoming._new_incoming, Store.write

    def noted(**fields: Any) -> Any:
        seen.append(fields["order"].id)
        return made(**fields)

    @contextmanager
    def begun(self: Store) -> Any:
        seen.append("begin")
        with write(self) as conn:
            yield conn

    monkeypatch.setattr(incoming, "_new_incoming", noted)
    monkeypatch.setattr(Store, "write", begun)
    svc.import_file(IncomingSource(write_lines(tmp_path, "small", range(3))))
    assert seen == ["S0", "S1", "S2", "begin"]  # one chunk: read without the lock
    seen.clear()
    svc.import_file(IncomingSource(write_lines(tmp_path, "big", range(10, 16))))
    assert seen == ["S10", "S11", "S12", "S13", "begin", "S14", "S15"]


def test_a_transaction_run_again_reads_the_file_from_its_start(
    svc: Service, store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from engine.store.database import RetryTransaction

    calls: list[int] = []
    lookup = importing.existing_ids

    def conflicting_once(conn: Any, ids: list[str]) -> set[str]:
        calls.append(len(ids))
        if len(calls) == 2:  # the second chunk of the first run
            raise RetryTransaction("rows changed")
        return lookup(conn, ids)

    monkeypatch.setattr(importing, "existing_ids", conflicting_once)
    path = write(tmp_path, [record(n, total="1.50") for n in range(10)])
    created = svc.import_file(IncomingSource(path))
    assert created == [f"S{n}" for n in range(10)]
    assert calls == [4, 4, 4, 4, 2]  # the second run read every chunk again
    assert [o["id"] for o in svc.list_orders()] == sorted(created)
    assert len(event_rows(store, "order.created")) == 10


def write_lines(tmp_path: Path, name: str, numbers: range) -> Path:
    path = tmp_path / f"{name}.jsonl"
    path.write_text("".join(json.dumps(record(n)) + "\n" for n in numbers))
    return path


def test_the_first_chunk_and_the_line_count_are_read_before_the_write_lock(
    sqlite_store: Store,
    clock: Callable[[], datetime],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Reading ahead and counting a JSON Lines file's orders happen outside the transaction:
    SQLite's one writer lock is not held while a big file is read through once more."""
    db = str(sqlite_store.engine.url.database)
    path = write(tmp_path, [record(n) for n in range(10)])
    locked: dict[str, bool] = {}

    def spy(name: str, method: Callable[..., Any]) -> Callable[..., Any]:
        def run(self: IncomingSource, *args: Any) -> Any:
            locked[name] = write_locked(db)
            return method(self, *args)

        return run

    for name in ("read_ahead", "expected"):
        monkeypatch.setattr(IncomingSource, name, spy(name, getattr(IncomingSource, name)))
    seen: list[tuple[int, int]] = []
    created = Service(sqlite_store, clock).import_file(
        IncomingSource(path, now=T0), lambda done, total: seen.append((done, total))
    )
    assert len(created) == 10 and seen[-1] == (10, 10)
    assert locked == {"read_ahead": False, "expected": False}


def _last_analyze(store: Store) -> Any:
    with store.read() as conn:
        return conn.exec_driver_sql(
            "SELECT last_analyze FROM pg_stat_user_tables "
            "WHERE relname = 'orders' AND schemaname = current_schema()"
        ).scalar()


def test_a_big_import_or_sync_on_postgresql_analyses_the_tables_it_filled(
    pg: Store, clock: Callable[[], datetime], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Autovacuum would, a minute or so later; a tick in between planned on empty tables."""
    from engine.store import statistics

    monkeypatch.setattr(statistics, "ANALYZE_AT", 6)
    svc = Service(pg, clock)
    before = _last_analyze(pg)
    svc.import_file(IncomingSource(write(tmp_path, [record(n) for n in range(5)]), now=T0))
    assert _last_analyze(pg) == before  # 5 orders: small, autovacuum's business
    svc.import_file(IncomingSource(write(tmp_path, [record(n) for n in range(10, 16)]), now=T0))
    imported = _last_analyze(pg)
    assert imported is not None and (before is None or imported > before)
    source = IncomingSource(write(tmp_path, [record(n) for n in range(20, 26)]), now=T0)
    svc.sync_orders([item for chunk in source.chunks(100) for item in chunk])
    synced = _last_analyze(pg)
    assert synced > imported
    source = IncomingSource(write(tmp_path, [record(n) for n in range(30, 36)]), now=T0)
    svc.import_orders([item for chunk in source.chunks(100) for item in chunk])
    channel = _last_analyze(pg)
    assert channel > synced
    svc.add_orders([order(f"A{n}", ("MUG", 1)) for n in range(6)])  # `orders add`, the API
    assert _last_analyze(pg) > channel


def test_an_import_whose_analyse_cannot_lock_a_table_still_succeeds(
    pg: Store,
    clock: Callable[[], datetime],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The import has committed when its ANALYZE runs: a table another session holds (a VACUUM,
    an index build) makes that a warning after a short wait, not a hang or the import's error."""
    from engine.store import statistics

    monkeypatch.setattr(statistics, "ANALYZE_AT", 6)
    monkeypatch.setattr(statistics, "ANALYZE_LOCK_TIMEOUT_MS", 100)
    with pg.engine.connect() as other, other.begin():
        other.exec_driver_sql("LOCK TABLE events IN SHARE UPDATE EXCLUSIVE MODE")
        source = IncomingSource(write(tmp_path, [record(n) for n in range(6)]), now=T0)
        created = Service(pg, clock).import_file(source)
    assert len(created) == 6
    assert "not analysed" in caplog.text and "lock timeout" in caplog.text
    with pg.read() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM orders").scalar() == 6
