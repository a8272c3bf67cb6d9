"""Apply the shipped Alembic migrations on first use (and after an upgrade of dibs).

The migrations live inside the package (`engine/migrations`), so an installed dibs needs no
alembic.ini and no separate step: opening a database brings its schema up to date. Concurrent
first uses are serialised: a PostgreSQL advisory lock, or SQLite's immediate write lock.
"""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text

_MIGRATION_LOCK = 0x6D696772  # "migr": one key for every dibs database


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", "engine.store:migrations")
    return config


def head_revision() -> str | None:
    """The newest migration this version of dibs ships."""
    return ScriptDirectory.from_config(_config()).get_current_head()


def known_revisions() -> frozenset[str]:
    """Every migration this version of dibs ships (a database at another one is not ours)."""
    return frozenset(s.revision for s in ScriptDirectory.from_config(_config()).walk_revisions())


def upgrade(engine: Engine) -> None:
    """Upgrade the schema of the database behind `engine` to the head revision, if needed."""
    head = head_revision()
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    if current == head:
        return
    config = _config()
    with engine.connect() as conn:
        conn = conn.execution_options(dibs_write=True)
        with conn.begin():
            if engine.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK})
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
