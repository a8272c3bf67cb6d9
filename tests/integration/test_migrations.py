"""The shipped migrations: applied on first use, idempotent, and the schema matches the code."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect

from engine.store import SCHEMA_REVISION, Store, metadata
from engine.store.migrate import head_revision


def test_code_knows_the_newest_migration() -> None:
    assert head_revision() == SCHEMA_REVISION


def test_first_use_creates_schema_and_reopen_is_a_no_op(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    first = Store.open(url)
    assert first.schema_revision() == SCHEMA_REVISION
    tables = set(inspect(first.engine).get_table_names())
    assert set(metadata.tables) <= tables
    first.dispose()
    again = Store.open(url)
    assert again.schema_revision() == SCHEMA_REVISION
    again.dispose()


def test_migrated_schema_matches_the_tables_the_code_uses(store: Store) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []
