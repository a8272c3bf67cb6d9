"""Small builders shared by tests."""

from __future__ import annotations

import contextlib
import io
import logging
import os
import signal
import subprocess
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from engine.model import Line, Order

T0 = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)


def order(oid: str, *lines: tuple[str, int], minutes: int = 0, **kw: Any) -> Order:
    """An order placed `minutes` after T0 with (sku, qty) lines."""
    return Order(
        id=oid,
        channel=kw.pop("channel", "shopify"),
        placed_at=kw.pop("placed_at", T0 + timedelta(minutes=minutes)),
        lines=tuple(Line(sku, qty) for sku, qty in lines),
        **kw,
    )


def snapshot(store: Any) -> dict[str, list[str]]:
    """Every row of every table, sorted: proof that something wrote nothing at all."""
    from sqlalchemy import select

    from engine.store import metadata

    with store.read() as conn:
        return {
            name: sorted(repr(tuple(row)) for row in conn.execute(select(table)))
            for name, table in metadata.tables.items()
        }


def table_counts(conn: Any) -> dict[str, int]:
    """Row counts of every table: how tests prove that a refused operation wrote nothing."""
    from sqlalchemy import text

    from engine.store import metadata

    return {
        name: int(conn.execute(text(f"SELECT count(*) FROM {name}")).scalar_one())
        for name in sorted(metadata.tables)
    }


def decide(lines: Any, warehouse: str, available: Any, policy: Any) -> list[int]:
    """The grants of one allocation attempt against read-only availability (model.attempt
    without committing): how many units each line would reserve now."""
    from engine.model import attempt

    stock = {key: [value, 0] for key, value in available.items()}
    grants, _ = attempt(
        [(line.sku, line.qty, line.reserved) for line in lines],
        warehouse,
        stock,
        policy,
        commit=False,
    )
    return grants


def run_dibs(
    argv: Sequence[str], cwd: Path | None = None, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`dibs argv…` in this process, as the console script runs it (`sys.exit(main())`), with
    what a separate process would have of its own: stdout and stderr captured, `env` set over an
    environment without $DIBS_DB, `cwd` as the working directory, and afterwards the engines it
    opened disposed (a process would close its connections by exiting), its log handlers and
    signal handlers put back. An exception escaping `main` is the traceback a user would see:
    it propagates and fails the test. For speed in tests that prove what commands do; a test
    of the process itself (signals, exit, the console script) starts the real one."""
    from engine.cli.main import main
    from engine.store import database

    out, err = io.StringIO(), io.StringIO()
    engines: list[Any] = []
    make_engine = database.make_engine

    def recorded(*args: Any, **kw: Any) -> Any:
        engines.append(make_engine(*args, **kw))
        return engines[-1]

    saved_env, saved_cwd = dict(os.environ), os.getcwd()
    saved_signals = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    loggers = [logging.getLogger(n) for n in ("dibs", *logging.root.manager.loggerDict)]
    saved_logs = [(x, x.handlers[:], x.level, x.propagate) for x in loggers if x.name[:4] == "dibs"]
    os.environ.pop("DIBS_DB", None)
    os.environ.update(env or {})
    database.make_engine = recorded  # type: ignore[assignment]
    try:
        if cwd is not None:
            os.chdir(cwd)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(list(argv))
            except SystemExit as exc:  # argparse's --help and --version
                code = exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 1
    finally:
        database.make_engine = make_engine  # type: ignore[assignment]
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)
        for number, handler in saved_signals.items():
            signal.signal(number, handler)
        for logger, handlers, level, propagate in saved_logs:
            logger.handlers[:], logger.level, logger.propagate = handlers, level, propagate
        # A logger the command created (lazy imports: `dibs.run` first exists during the first
        # `dibs run`) goes back to a fresh logger's state, not left writing to this call's stderr.
        known = {x.name for x, *_ in saved_logs}
        for name in [n for n in logging.root.manager.loggerDict if n[:4] == "dibs"]:
            if name not in known:
                fresh = logging.getLogger(name)
                fresh.handlers.clear()
                fresh.setLevel(logging.NOTSET)
                fresh.propagate = True
        for engine in engines:
            engine.dispose()
    return subprocess.CompletedProcess(list(argv), code, out.getvalue(), err.getvalue())


def write_locked(path: str) -> bool:
    """True while another connection holds the SQLite file's write lock."""
    import sqlite3

    conn = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ROLLBACK")
        return False
    except sqlite3.OperationalError as exc:
        return "locked" in str(exc)
    finally:
        conn.close()
