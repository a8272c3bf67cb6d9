"""Bulk statements straight on the DB-API cursor, for the few hot paths that move many rows.

SQLAlchemy builds a parameter dictionary and runs type processors for every row of an
executemany; for imports and batch allocation that was measured at about half the total time.
Here a statement is compiled once by SQLAlchemy (so the SQL stays dialect-correct), constant
values are converted once, and rows go to the driver as plain tuples. Everything still runs on
the caller's connection, inside its transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    MetaData,
    Select,
    String,
    Table,
    insert,
    literal_column,
    select,
)
from sqlalchemy.engine import Connection
from sqlalchemy.sql import ClauseElement, ColumnElement

from engine.store.schema import orders

#: The connection-private queue of a batch (`Bulk.stage_queue`): a temporary table, created by
#: the batch itself, never by the migrations (its own MetaData). On SQLite it also holds each
#: order's rowid (`orow`), so the batch reads an order by rowid, not by its id's index.
queue = Table(
    "dibs_queue",
    MetaData(),
    Column("pos", BigInteger),
    Column("order_id", String),
    Column("orow", BigInteger),
)
#: SQLite: an order's rowid, for a query over `orders` to give `Bulk.stage_select`.
ORDERS_ROWID: ColumnElement[int] = literal_column("orders.rowid")

#: (id(statement), dialect, paramstyle) -> (statement, SQL, bind names); see Bulk._compiled.
_COMPILED: dict[tuple[int, str, str], tuple[ClauseElement, str, list[str]]] = {}
#: Whether this process's SQLite library has json_each (see Bulk.json_arrays).
_SQLITE_JSON: dict[str, bool] = {}


class Bulk:
    """Compiled statements and raw executemany for one connection."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.dialect = conn.dialect
        self._named = self.dialect.paramstyle in ("named", "pyformat")

    def _compiled(self, stmt: ClauseElement) -> tuple[str, list[str]]:
        # One compile per statement and dialect for the whole process: a Bulk lives for one
        # call, and compiling per call was 40% of a one-order webhook's time. Statements given
        # to a Bulk are module-level constants (the cache keeps them, so their ids stay theirs).
        key = (id(stmt), self.dialect.name, self.dialect.paramstyle)
        found = _COMPILED.get(key)
        if found is None:
            compiled: Any = stmt.compile(dialect=self.dialect)
            names = list(compiled.positiontup or compiled.bind_names.values())
            found = _COMPILED[key] = (stmt, str(compiled), names)
        _, sql, names = found
        return sql, names

    def _cursor(self) -> Any:
        return self.conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]

    def executemany(
        self, stmt: ClauseElement, names: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        """Run `stmt` once per row; `names` says which bind parameter each tuple position fills."""
        if not rows:
            return
        sql, binds = self._compiled(stmt)
        params: Iterable[Any]
        if self._named:
            params = [dict(zip(names, row, strict=True)) for row in rows]
        else:
            order = [names.index(n) for n in binds]
            params = (
                rows
                if order == list(range(len(names)))
                else [tuple(row[i] for i in order) for row in rows]
            )
        cursor = self._cursor()
        try:
            cursor.executemany(sql, params)
        finally:
            cursor.close()

    def insert(self, table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """INSERT rows given as tuples in `columns` order."""
        self.executemany(_insert_stmt(table, tuple(columns)), columns, rows)

    def copy(self, table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """`COPY table (columns) FROM STDIN` of rows given as tuples (PostgreSQL with psycopg
        only; the values as its processors made them). For bulk inserts of new rows."""
        if not rows:
            return
        cursor = self._cursor()
        try:
            with cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        finally:
            cursor.close()

    @property
    def json_arrays(self) -> bool:
        """Whether set-based writes may pass their keys as one JSON array (`json_each`): SQLite
        whose library has the JSON functions (built in since 3.38, a compile option before).
        Probed once per process; without them the callers write row by row."""
        if self.dialect.name != "sqlite":
            return False
        found = _SQLITE_JSON.get("json_each")
        if found is None:
            try:
                self.query("SELECT count(*) FROM json_each('[1]')")
                found = True
            except Exception:  # "no such table: json_each"; the transaction goes on
                found = False
            _SQLITE_JSON["json_each"] = found
        return found

    @contextmanager
    def key_lookups(self) -> Iterator[None]:
        """PostgreSQL: the statements inside join a chunk's keys (a few thousand, as arrays) to
        a big table on its primary key. The planner, costing each index lookup as a random
        read, hashed the whole table instead: a sequential scan per chunk, 70 ms of the 93 ms
        that 3,200 line counters took at 250k lines, against 51 ms by lookups. So hash and
        merge joins are off inside, for this transaction only (`set_config(..., true)`), and
        as they were again after it. Should a statement fail, the transaction is aborted and
        its rollback undoes the settings as well."""
        if self.dialect.name != "postgresql":
            yield
            return
        hashjoin, mergejoin = self.query(
            "SELECT current_setting('enable_hashjoin'), current_setting('enable_mergejoin')"
        )[0]
        self.query(
            "SELECT set_config('enable_hashjoin', 'off', true), "
            "set_config('enable_mergejoin', 'off', true)"
        )
        yield
        self.query(
            "SELECT set_config('enable_hashjoin', ?, true), "
            "set_config('enable_mergejoin', ?, true)",
            (hashjoin, mergejoin),
        )

    @property
    def can_copy(self) -> bool:
        """Whether `copy` works here (PostgreSQL through psycopg)."""
        return self.dialect.name == "postgresql" and self.dialect.driver == "psycopg"

    def fetch(self, stmt: ClauseElement, values: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run a SELECT and return plain tuples (no result processing: strings and ints only)."""
        sql, names = self._compiled(stmt)
        params: Any = dict(zip(names, values, strict=True)) if self._named else tuple(values)
        cursor = self._cursor()
        try:
            cursor.execute(sql, params)
            return list(cursor.fetchall())
        finally:
            cursor.close()

    def fetch_in(self, sql: str, values: Sequence[Any]) -> list[tuple[Any, ...]]:
        """Run hand-written SQL whose `{in}` is replaced by one placeholder per value.

        For the hottest read only: SQLAlchemy's expanding IN and Row objects cost more than the
        query itself there. On PostgreSQL `IN ({in})` becomes `= ANY(%s)` with the values as one
        array: psycopg parsing a query of 5000 placeholders took longer than running it.
        """
        cursor = self._cursor()
        try:
            if self.dialect.name == "postgresql" and "IN ({in})" in sql:
                cursor.execute(sql.replace("IN ({in})", "= ANY(%s)"), (list(values),))
                return list(cursor.fetchall())
            mark = "?" if self.dialect.paramstyle == "qmark" else "%s"
            cursor.execute(sql.replace("{in}", ", ".join([mark] * len(values))), tuple(values))
            return list(cursor.fetchall())
        finally:
            cursor.close()

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Hand-written SQL with `?` placeholders, on the raw cursor (hot reads only)."""
        if self.dialect.paramstyle != "qmark":
            sql = sql.replace("?", "%s")
        cursor = self._cursor()
        try:
            cursor.execute(sql, tuple(params))
            return list(cursor.fetchall()) if cursor.description else []
        finally:
            cursor.close()

    def run_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Hand-written SQL with `?` placeholders, once per row (rows in placeholder order):
        the hottest writes, which need neither a compile nor reordered rows."""
        if not rows:
            return
        if self.dialect.paramstyle != "qmark":
            sql = sql.replace("?", "%s")
        cursor = self._cursor()
        try:
            cursor.executemany(sql, rows)
        finally:
            cursor.close()

    def _new_queue(self) -> None:
        if self.dialect.name == "postgresql":
            self.query(
                "CREATE TEMP TABLE IF NOT EXISTS dibs_queue (pos BIGINT PRIMARY KEY, "
                "order_id TEXT NOT NULL) ON COMMIT DELETE ROWS"
            )
        else:
            self.query(
                "CREATE TEMP TABLE IF NOT EXISTS dibs_queue (pos INTEGER PRIMARY KEY, "
                "order_id TEXT NOT NULL, orow INTEGER)"
            )
        self.query("DELETE FROM dibs_queue")

    def stage_queue(self, order_ids: Sequence[str]) -> None:
        """Put `order_ids` in a connection-private temporary table `dibs_queue(pos, order_id)`,
        pos counting from 0, so a batch can read its orders in queue order by position ranges:
        measured five times faster on SQLite than chunks of `id IN (…)`. A queue names each
        order once. On SQLite each row also gets its order's rowid (`orow`; NULL for an id no
        order has)."""
        self._new_queue()
        if self.dialect.name == "postgresql":
            self.run_many(
                "INSERT INTO dibs_queue (pos, order_id) VALUES (?, ?)", list(enumerate(order_ids))
            )
            return
        self.run_many(
            "INSERT INTO dibs_queue (pos, order_id, orow) "
            "VALUES (?, ?, (SELECT rowid FROM orders WHERE id = ?))",
            [(pos, oid, oid) for pos, oid in enumerate(order_ids)],
        )

    def stage_select(self, query: Select[Any]) -> int:
        """`stage_queue` for the ids a query selects, without bringing them into Python: the
        query gives (pos, order id) rows, pos counting from 0 (a `row_number() - 1`), and, on
        SQLite, may give the order's rowid as a third column (`ORDERS_ROWID`: a query over
        `orders` has it for free); else it is looked up by id. Returns how many were staged."""
        self._new_queue()
        if self.dialect.name == "postgresql":
            self.conn.execute(insert(queue).from_select(["pos", "order_id"], query))
        elif len(query.selected_columns) == 3:
            self.conn.execute(insert(queue).from_select(["pos", "order_id", "orow"], query))
        else:
            staged = query.subquery("s")
            pos, oid = list(staged.c)
            rowid = (
                select(ORDERS_ROWID).select_from(orders).where(orders.c.id == oid).scalar_subquery()
            )
            rows = select(pos, oid, rowid)
            self.conn.execute(insert(queue).from_select(["pos", "order_id", "orow"], rows))
        found = self.query("SELECT count(*) FROM dibs_queue")
        return int(found[0][0])

    def processor(self, column: Column[Any]) -> Callable[[Any], Any]:
        """The function that turns a Python value into what the driver stores for `column`."""
        found = column.type.dialect_impl(self.dialect).bind_processor(self.dialect)
        return found if found is not None else _identity

    def result_processor(self, column: Column[Any]) -> Callable[[Any], Any]:
        """The function that turns what the driver returns for `column` into a Python value."""
        impl = column.type.dialect_impl(self.dialect)
        found = impl.result_processor(self.dialect, None)
        return found if found is not None else _identity

    def value(self, column: Column[Any], value: Any) -> Any:
        """Convert one Python value to what the driver stores for `column` (e.g. a timestamp)."""
        return self.processor(column)(value)


def _identity(value: Any) -> Any:
    return value


_INSERTS: dict[tuple[str, tuple[str, ...]], Any] = {}


def _insert_stmt(table: Table, columns: tuple[str, ...]) -> Any:
    """One Insert object per (table, columns), so its compiled form is cached by identity."""
    key = (table.name, columns)
    if key not in _INSERTS:
        _INSERTS[key] = insert(table).values({c: None for c in columns})
    return _INSERTS[key]
