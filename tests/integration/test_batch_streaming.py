"""The batch's bounded-memory paths (issue #15) on both backends: small chunks, status notes
spilled to the temporary table, the summary report, and the ledger written from the
reservations. Each must do exactly what the in-memory path does."""

from __future__ import annotations

from typing import Any

import pytest

from engine.model import Actor, Policy
from engine.service import Service, batch, changes, release
from engine.service.allocation import allocate
from engine.service.records import AllocationReport, QueueEntry
from engine.store import Store
from tests.conftest import FakeClock
from tests.helpers import order
from tests.integration.helpers import dropped_during, event_rows, statuses


def _shop(store: Store) -> Service:
    """40 orders over 3 SKUs whose stock covers some of them (allocated, partial, none)."""
    svc = Service(store, FakeClock())
    for sku, qty in (("A", 30), ("B", 12), ("C", 0)):
        svc.change_stock(sku, "main", qty, "set")
    svc.add_orders(
        [
            order(f"O{n:02d}", ("A", 1 + n % 3), ("B", 1), *([("C", 1)] if n % 7 == 0 else []))
            for n in range(40)
        ]
        + [order("Z", ("A", 1), minutes=-5)]  # placed first: FIFO puts it at the head
    )
    return svc


def _outcome(store: Store, svc: Service) -> dict[str, Any]:
    from sqlalchemy import select

    from engine.store import ledger, reservations

    with store.read() as conn:
        held = conn.execute(
            select(reservations.c.order_id, reservations.c.line_no, reservations.c.qty).order_by(
                reservations.c.seq
            )
        ).all()
        booked = conn.execute(
            select(
                ledger.c.order_id,
                ledger.c.line_no,
                ledger.c.delta,
                ledger.c.operation,
                ledger.c.rule,
                ledger.c.actor,
            ).order_by(ledger.c.id)
        ).all()
    ids = ["Z", *(f"O{n:02d}" for n in range(40))]
    return {
        "statuses": statuses(svc, *ids),
        "reservations": [tuple(r) for r in held],
        "ledger": [tuple(r) for r in booked],
        "events": [(e["order_id"], e["payload"]) for e in event_rows(store, "allocation.changed")],
    }


def _allocate_then_release(svc: Service) -> None:
    """One transaction: allocate --all, then deallocate O01 (net: no change for it) and O02."""

    def work(tx: Any) -> None:
        allocate(tx, None, None, [], Policy.LINES, Actor(), detail=False)
        release.release_orders(tx, ["O01", "O02"], "deallocate", Actor())

    svc.run(work)


@pytest.fixture
def reference(tmp_path: Any) -> dict[str, Any]:
    """The outcome with the in-memory path: one chunk, nothing spilled."""
    other = Store.open(f"sqlite:///{tmp_path / 'reference.db'}")
    svc = _shop(other)
    _allocate_then_release(svc)
    out = _outcome(other, svc)
    other.dispose()
    return out


def test_small_chunks_and_spilled_notes_change_nothing(
    store: Store, reference: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(batch, "CHUNK", 3)
    monkeypatch.setattr(changes, "SPILL_AT", 4)
    monkeypatch.setattr(changes, "_READ_BACK", 5)
    svc = _shop(store)
    _allocate_then_release(svc)
    got = _outcome(store, svc)
    assert got == reference
    assert "O01" not in {oid for oid, _ in got["events"]}  # allocated, then released
    assert len(got["events"]) > 10


def test_postgres_without_copy_writes_the_same(
    store: Store, reference: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The chunk writes on PostgreSQL go by COPY through psycopg; with another driver, as one
    INSERT of arrays per table (`batch_writes._flush_postgres`). Both write what SQLite does."""
    from engine.store.bulk import Bulk

    monkeypatch.setattr(Bulk, "can_copy", property(lambda self: False))
    monkeypatch.setattr(batch, "CHUNK", 7)
    svc = _shop(store)
    _allocate_then_release(svc)
    assert _outcome(store, svc) == reference


def test_key_lookups_turn_hash_joins_off_for_their_statements_only(pg: Store) -> None:
    """PostgreSQL hashed the whole order_lines table per chunk to update a few thousand lines
    (`Bulk.key_lookups`): inside, the planner looks the keys up; after, the settings are what
    they were, including one this transaction had changed itself."""
    from sqlalchemy import text

    from engine.service.batch_writes import _PG_RESERVED
    from engine.store.bulk import Bulk

    explain = "EXPLAIN " + _PG_RESERVED
    keys = ([1], ["O1"], [1])
    with pg.write() as conn:
        conn.execute(text("SET LOCAL enable_mergejoin = off"))
        conn.execute(text("SET LOCAL enable_nestloop = off"))  # make a hash join the cheapest
        bulk = Bulk(conn)
        assert "Hash Join" in "\n".join(row[0] for row in bulk.query(explain, keys))
        conn.execute(text("SET LOCAL enable_nestloop = on"))
        with bulk.key_lookups():
            plan = "\n".join(row[0] for row in bulk.query(explain, keys))
            inside = bulk.query(
                "SELECT current_setting('enable_hashjoin'), current_setting('enable_mergejoin')"
            )
        after = bulk.query(
            "SELECT current_setting('enable_hashjoin'), current_setting('enable_mergejoin')"
        )
    assert "Hash Join" not in plan and "Nested Loop" in plan
    assert inside == [("off", "off")]
    assert after == [("on", "off")]


def test_a_chunk_flush_leaves_the_planner_settings_as_they_were(pg: Store) -> None:
    """Its line counters and statuses run inside one `Bulk.key_lookups`; the statements after
    them in the transaction plan with hash and merge joins again."""
    from datetime import UTC, datetime

    from engine.service.batch_writes import _flush_postgres
    from engine.store.bulk import Bulk

    at = datetime(2026, 11, 1, tzinfo=UTC)
    with pg.write() as conn:
        bulk = Bulk(conn)
        _flush_postgres(bulk, [], [], [(1, "O1", 1)], [("allocated", at, "O1")])
        after = bulk.query(
            "SELECT current_setting('enable_hashjoin'), current_setting('enable_mergejoin')"
        )
    assert after == [("on", "on")]


def test_a_summary_report_counts_what_a_detailed_one_lists(store: Store) -> None:
    svc = _shop(store)
    summary = svc.allocate(detail=False, dry_run=True)
    detail = svc.allocate(dry_run=True)
    assert summary.results == []
    assert summary.counts() == detail.counts()
    assert summary.processed == detail.processed == 41
    n_changed, sample = summary.changed()
    assert (n_changed, sample) == detail.changed()
    assert sample[0]["id"] == "Z"


def test_a_named_queue_and_a_rule_queue_still_write_their_actor(store: Store) -> None:
    svc = _shop(store)
    rule = Actor("rules", "vip", "set1")
    report = svc.run(
        lambda tx: batch.allocate_queue(
            tx,
            [
                QueueEntry("O03", Policy.LINES, rule),
                QueueEntry("O04", Policy.LINES, Actor()),
            ],
            AllocationReport(),
        )
    )
    assert report is None
    got = _outcome(store, svc)
    assert {(oid, r, a) for oid, _, _, _, r, a in got["ledger"]} == {
        ("O03", "vip", "rules"),
        ("O04", None, "cli"),
    }


def _stock_index(store: Store) -> list[Any]:
    """How the indexes a big SQLite batch rebuilds are defined now (`batch_indexes`; SQLite's
    schema table, PostgreSQL's pg_indexes)."""
    from sqlalchemy import text

    names = "('ix_reservations_stock', 'ix_orders_open')"
    with store.read() as conn:
        if store.is_postgres:
            sql = (
                f"SELECT indexdef FROM pg_indexes WHERE indexname IN {names} "
                "AND schemaname = current_schema() ORDER BY indexname"
            )
        else:
            sql = f"SELECT sql FROM sqlite_master WHERE name IN {names} ORDER BY name"
        return list(conn.execute(text(sql)).scalars())


def test_deferred_indexes_are_built_again_the_same(
    store: Store, reference: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from engine.service import batch_indexes

    before = _stock_index(store)
    assert len(before) == 2
    monkeypatch.setattr(batch_indexes, "DEFER_INDEX_AT", 1)  # every batch counts as big
    svc = _shop(store)
    dropped = dropped_during(monkeypatch, lambda: _allocate_then_release(svc))
    assert _outcome(store, svc) == reference
    assert _stock_index(store) == before
    if store.is_postgres:
        assert dropped == []  # SQLite only
    else:
        assert dropped == [
            "DROP INDEX ix_reservations_stock",
            "DROP INDEX ix_reservations_order",
            "DROP INDEX ix_ledger_order",
            "DROP INDEX ix_orders_open",
        ]
        from sqlalchemy import text

        with store.read() as conn:
            assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"


def test_a_failing_batch_keeps_the_deferred_indexes(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rolled back, or caught inside the transaction that then commits: the index is there."""
    from engine.service import batch_indexes, batch_plain

    before = _stock_index(store)
    monkeypatch.setattr(batch_indexes, "DEFER_INDEX_AT", 1)
    svc = _shop(store)

    def broken(*_args: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(batch, "decide_plain", broken)
    with pytest.raises(RuntimeError):
        svc.allocate(detail=False)
    assert _stock_index(store) == before

    def caught(tx: Any) -> None:
        with pytest.raises(RuntimeError):
            allocate(tx, None, None, [], Policy.LINES, Actor(), detail=False)

    svc.run(caught)
    assert _stock_index(store) == before
    monkeypatch.setattr(batch, "decide_plain", batch_plain.decide_plain)
    assert svc.allocate(detail=False).processed == 41


def test_the_indexes_stay_when_the_tables_outweigh_the_batch(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    from engine.service import batch_indexes

    monkeypatch.setattr(batch_indexes, "DEFER_INDEX_AT", 1)
    svc = _shop(store)
    svc.allocate(detail=False)  # dozens of reservations now
    svc.change_stock("B", "main", 50, "set")
    waiting = [r["id"] for r in svc.allocate(dry_run=True).results if r["after"] == "allocated"]
    results: list[Any] = []
    # two orders: a batch smaller than either table
    dropped = dropped_during(monkeypatch, lambda: results.extend(svc.allocate(waiting[:2]).results))
    assert [r["after"] for r in results] == ["allocated", "allocated"]
    assert dropped == []


def test_events_follow_the_queue_whatever_their_kind(
    store: Store, reference: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite writes a transaction's events in one statement: they still come in note order,
    each with its own payload, as the row-by-row fallback writes them."""
    assert len({str(payload) for _, payload in reference["events"]}) > 1
    ids = [oid for oid, _ in reference["events"]]
    assert ids[0] == "Z" and ids[1:] == sorted(ids[1:])  # FIFO: Z first, then O00, O01, ...
    monkeypatch.setattr(changes, "_MAX_KINDS", 1)  # more kinds than that: row by row
    svc = _shop(store)
    _allocate_then_release(svc)
    assert _outcome(store, svc)["events"] == reference["events"]


def test_stock_read_whole_or_per_chunk_decides_alike(
    store: Store, reference: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reference read its 3 stock rows whole (SQLite: no bigger than the queue); read
    per chunk, as for a stock table bigger than the queue, the outcome is the same."""
    monkeypatch.setattr(batch, "_stock_at_most", lambda *_: False)
    monkeypatch.setattr(batch, "CHUNK", 4)
    svc = _shop(store)
    _allocate_then_release(svc)
    assert _outcome(store, svc) == reference


def test_without_sqlite_json_functions_the_writes_go_row_by_row_alike(
    store: Store, reference: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A SQLite library built without the JSON functions (before 3.38 they were a compile
    option): statuses and events are written row by row, with the same outcome."""
    from engine.store import bulk

    monkeypatch.setitem(bulk._SQLITE_JSON, "json_each", False)
    svc = _shop(store)
    _allocate_then_release(svc)
    assert _outcome(store, svc) == reference


def test_the_json_probe_says_no_when_json_each_is_missing(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    from engine.store import bulk

    monkeypatch.setattr(bulk, "_SQLITE_JSON", {})
    real = bulk.Bulk.query

    def no_json(self: bulk.Bulk, sql: str, params: Any = ()) -> Any:
        if "json_each" in sql:
            raise RuntimeError("no such table: json_each")
        return real(self, sql, params)

    with store.write() as conn:
        assert bulk.Bulk(conn).json_arrays is (not store.is_postgres)
    monkeypatch.setattr(bulk, "_SQLITE_JSON", {})
    monkeypatch.setattr(bulk.Bulk, "query", no_json)
    with store.write() as conn:
        assert bulk.Bulk(conn).json_arrays is False


def _sqlite_shop(tmp_path: Any) -> tuple[Store, Service]:
    store = Store.open(f"sqlite:///{tmp_path / 'deferred.db'}")
    return store, _shop(store)


def _stat_rows(store: Store) -> list[tuple[str, ...]]:
    from sqlalchemy import text

    with store.read() as conn:
        rows = conn.execute(text("SELECT tbl, idx, stat FROM sqlite_stat1 ORDER BY tbl, idx"))
        return [tuple(r) for r in rows]


def test_deferred_indexes_keep_their_planner_statistics(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DROP INDEX deletes an index's sqlite_stat1 row and CREATE INDEX does not write one:
    without it the dashboard's order pages sort every open order until the next ANALYZE."""
    from engine.service import batch_indexes
    from engine.store import statistics

    store, svc = _sqlite_shop(tmp_path)
    with store.write() as conn:
        statistics.refresh(conn)
    before = _stat_rows(store)
    assert "ix_orders_open" in {idx for _, idx, _ in before}
    monkeypatch.setattr(batch_indexes, "DEFER_INDEX_AT", 1)
    dropped = dropped_during(monkeypatch, lambda: svc.allocate(detail=False))
    assert "DROP INDEX ix_orders_open" in dropped
    assert _stat_rows(store) == before
    store.dispose()


def test_a_deferrable_index_the_database_lacks_is_left_alone(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Dropped by hand: the batch neither fails on it nor builds it; the others are deferred."""
    from sqlalchemy import text

    from engine.service import batch_indexes

    store, svc = _sqlite_shop(tmp_path)
    with store.write() as conn:
        conn.execute(text("DROP INDEX ix_reservations_stock"))
    monkeypatch.setattr(batch_indexes, "DEFER_INDEX_AT", 1)
    dropped = dropped_during(monkeypatch, lambda: svc.allocate(detail=False))
    assert dropped == [
        "DROP INDEX ix_reservations_order",
        "DROP INDEX ix_ledger_order",
        "DROP INDEX ix_orders_open",
    ]
    assert [sql for sql in _stock_index(store) if "ix_reservations_stock" in sql] == []
    with store.read() as conn:
        names = conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'index'"))
        assert "ix_orders_open" in set(names.scalars())
    store.dispose()


def test_every_way_of_staging_a_queue_reads_the_same_rows(store: Store) -> None:
    """The plain loop reads a chunk by the rowids staged with the queue (SQLite): a list of ids
    (`stage_queue`), a query giving (pos, id) such as a rule tick's, and `allocate --all`'s
    query giving the rowid itself must stage the same orders, in order; an id no order has is
    staged with no rowid and reads as nothing."""
    from sqlalchemy import literal, select, union_all

    from engine.service.batch_plain import read_plain
    from engine.store import orders
    from engine.store.bulk import ORDERS_ROWID, Bulk

    _shop(store)
    ids = ["O03", "Z", "NOPE", "O01"]
    picked = [
        select(literal(n).label("pos"), literal(oid).label("order_id")) for n, oid in enumerate(ids)
    ]
    by_rowid = [
        select(literal(n), orders.c.id, ORDERS_ROWID).where(orders.c.id == oid)
        for n, oid in enumerate(ids)
    ]
    with store.write() as conn:
        bulk = Bulk(conn)
        bulk.stage_queue(ids)
        staged = bulk.query("SELECT pos, order_id FROM dibs_queue ORDER BY pos")
        listed = read_plain(bulk, 0, len(ids))[0]
        assert bulk.stage_select(union_all(*picked)) == len(ids)
        assert bulk.query("SELECT pos, order_id FROM dibs_queue ORDER BY pos") == staged
        assert read_plain(bulk, 0, len(ids))[0] == listed
        if not store.is_postgres:
            rowids = dict(bulk.query("SELECT id, rowid FROM orders"))
            assert bulk.query("SELECT order_id, orow FROM dibs_queue ORDER BY pos") == [
                (oid, rowids.get(oid)) for oid in ids
            ]
            assert bulk.stage_select(union_all(*by_rowid)) == len(ids) - 1
            assert read_plain(bulk, 0, len(ids))[0] == listed
    assert [row[1] for row in listed] == ["O03", "O03", "Z", "O01", "O01"]
    assert len({row[0] for row in listed}) == 3  # one key per order
