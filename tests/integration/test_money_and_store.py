"""Money is exact on both backends (issue #9 item 9), the 0002 migration converts what 0001
stored, SQLite's REGEXP is RE2, and column limits come from one table (items 6, 7)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import String, select, text

from engine.model import MAX_TOTAL, MONEY_STEP, Length, Line, Order
from engine.service import Service
from engine.store import Store, metadata, orders
from engine.store.database import SCHEMA_REVISION, _regexp
from engine.store.migrate import _config
from tests.conftest import _clean
from tests.integration.helpers import wipe

T0 = datetime(2026, 1, 1, tzinfo=UTC)
TOTALS = st.decimals(
    min_value=0, max_value=MAX_TOTAL - MONEY_STEP, places=4, allow_nan=False, allow_infinity=False
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(totals=st.lists(TOTALS, min_size=1, max_size=8))
def test_totals_come_back_exactly(store: Store, totals: list[Decimal]) -> None:
    if store.is_postgres:
        _clean(store)
    else:
        wipe(store)
    svc = Service(store)
    svc.add_orders(
        [Order(f"M{i}", "web", T0, (Line("X", 1),), total=total) for i, total in enumerate(totals)]
    )
    for i, total in enumerate(totals):
        got = svc.get_order(f"M{i}").total
        assert got == total, (got, total)
    listed = {o["id"]: o["total"] for o in svc.list_orders()}
    assert {k: Decimal(v) for k, v in listed.items()} == {f"M{i}": t for i, t in enumerate(totals)}


def test_the_largest_total_survives_and_sorts(store: Store) -> None:
    svc = Service(store)
    big = Decimal("99999999999999.9999")
    svc.add_orders(
        [
            Order("BIG", "web", T0, (Line("X", 1),), total=big),
            Order("NEXT", "web", T0, (Line("X", 1),), total=big - MONEY_STEP),
        ]
    )
    assert svc.get_order("BIG").total == big
    with store.read() as conn:
        ids = list(conn.execute(select(orders.c.id).order_by(orders.c.total.desc())).scalars())
    assert ids == ["BIG", "NEXT"]


def test_migration_0002_converts_existing_totals(tmp_path: Path) -> None:
    """A database created by 0001 (NUMERIC totals) reads back the same amounts after 0002."""
    from alembic import command

    url = f"sqlite:///{tmp_path / 'old.db'}"
    store = Store(Store.open(url, migrate=False).engine)
    with store.engine.connect() as conn:
        conn = conn.execution_options(dibs_write=True)
        with conn.begin():
            config = _config()
            config.attributes["connection"] = conn
            command.upgrade(config, "0001")
            conn.execute(
                text(
                    "INSERT INTO orders (id, channel, placed_at, status, allocation_status, total,"
                    " warehouse, attributes, line_count, unit_count, created_at, updated_at)"
                    " VALUES ('OLD', 'web', '2026-01-01 00:00:00', 'awaiting_fulfillment',"
                    " 'unallocated', 19.99, 'main', '{}', 0, 0, '2026-01-01 00:00:00',"
                    " '2026-01-01 00:00:00')"
                )
            )
    store.migrate()
    assert store.schema_revision() == SCHEMA_REVISION  # through 0002 and every later one
    assert Service(store).get_order("OLD").total == Decimal("19.99")
    store.dispose()


def test_sqlite_regexp_is_re2_with_search_semantics() -> None:
    assert _regexp("b+", "abbbc") and not _regexp("^b", "abc")
    assert not _regexp("x", None)
    # Catastrophic for a backtracking engine (seconds per extra character), linear in RE2.
    assert not _regexp("(a+)+$", "a" * 5000 + "b")


def test_sqlite_regexp_in_sql(tmp_path: Path) -> None:
    """SQLite only, whatever backend the suite runs: PostgreSQL has its own regex dialect for
    --where (engine.store.sqlfilter)."""
    store = Store.open(f"sqlite:///{tmp_path / 'dibs.db'}")
    Service(store).add_orders([Order("R1", "web", T0, (Line("X", 1),), shipping_method="express")])
    with store.read() as conn:
        hits = conn.execute(text("SELECT id FROM orders WHERE shipping_method REGEXP 'pre'")).all()
    assert [h.id for h in hits] == ["R1"]
    store.dispose()


def test_column_lengths_come_from_one_table() -> None:
    """Every string column's length in the schema is one of `engine.model.Length` (the table
    validation reads), and the named ones are those validation enforces."""
    allowed = {v for k, v in vars(Length).items() if k.isupper()}
    for table in metadata.sorted_tables:
        for column in table.columns:
            if isinstance(column.type, String) and column.type.length is not None:
                assert column.type.length in allowed, (table.name, column.name)
    assert orders.c.id.type.length == Length.ORDER_ID
    assert orders.c.ship_to_postal_code.type.length == Length.POSTAL_CODE
    assert metadata.tables["order_tags"].c.tag.type.length == Length.TAG
