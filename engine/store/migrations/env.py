"""Alembic environment: always run on a connection that engine.migrate hands over."""

from __future__ import annotations

from alembic import context

from engine.store import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
context.run_migrations()
