"""Is a file at a `--db sqlite:///…` path something dibs may open? Checked before SQLAlchemy
connects, because dibs' own connections change a file (WAL mode) and create tables: a directory,
another kind of file, or another application's SQLite database is refused (exit 2) untouched."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def sqlite_file_problem(path: str) -> str | None:
    """Why the file at `path` cannot be (or become) a dibs SQLite database, or None."""
    target = Path(path)
    try:
        if target.is_dir():
            return "is a directory, not a database file"
        if not target.exists():
            return None  # created on first use (a missing directory fails then: exit 1)
        if not target.is_file():
            return "is not a regular file"
        with target.open("rb") as handle:
            head = handle.read(16)
    except OSError as exc:
        return f"cannot be read: {exc.strerror or exc}"
    except ValueError as exc:  # a NUL byte in the path
        return f"is not a usable path: {exc}"
    if head and head != b"SQLite format 3\x00":
        return "is not a SQLite database (another kind of file)"
    if head:
        return _foreign_sqlite(target)
    return None


def _foreign_sqlite(target: Path) -> str | None:
    """Why an existing SQLite file is not a dibs database, read without changing a byte of it
    (dibs' own connections switch the file to WAL, which another application may not want)."""
    try:
        conn = sqlite3.connect(f"{target.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        return f"is not a usable SQLite database: {exc}"
    try:
        tables = {
            name
            for (name,) in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        }
    except sqlite3.Error as exc:
        return f"is not a usable SQLite database: {exc}"
    finally:
        conn.close()
    if tables and "alembic_version" not in tables:
        return foreign_tables_message(tables)
    return None


def foreign_tables_message(tables: set[str]) -> str:
    shown = ", ".join(sorted(tables)[:5]) + (", …" if len(tables) > 5 else "")
    return (
        f"belongs to another application (it has tables {shown} but no dibs schema "
        "version); dibs will not add its tables to it: give --db a new or a dibs database"
    )
