"""What every command group shares: the argument parser class and opening the service.

Imported to build the parser, so it imports the service and the store (SQLAlchemy) only when a
command opens them."""

from __future__ import annotations

import argparse
import difflib
import math
import os
import re
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from engine.errors import BadInput, OperationFailed, quoted

if TYPE_CHECKING:
    from engine.service import Service
    from engine.store import Store

#: The database when neither `--db` nor `$DIBS_DB` names one.
DEFAULT_URL = "sqlite:///dibs.db"

_INVALID_CHOICE = re.compile(r"argument (?P<name>.+?): invalid choice: '(?P<value>.*?)'")
_REQUIRED = "the following arguments are required: "


class Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as BadInput (exit 2) in our one-message style:
    `dibs: error: orders list: …`, a did-you-mean for a mistyped command or choice, and the
    subcommands of a command group named without one."""

    #: The top-level commands, set on each command group's parser: `dibs orders explain` is
    #: pointed at `dibs explain`.
    top_commands: tuple[str, ...] = ()

    def error(self, message: str) -> NoReturn:
        if len(message) > 300:  # argparse quotes offending arguments whole
            message = f"{message[:299]}…"
        where = self.prog.removeprefix("dibs").strip()
        prefix = f"{where}: " if where else ""
        see = f"(see '{self.prog} --help')"
        missing = self._missing_subcommand(message)
        if missing is not None:
            raise BadInput(f"{self.prog} needs a command {see}:", problems=missing)
        wrong = _INVALID_CHOICE.match(message)
        if wrong is not None:
            choices = self._choices_of(wrong["name"])
            close = difflib.get_close_matches(wrong["value"], choices, n=1, cutoff=0.6)
            what = "command" if self._is_subcommand(wrong["name"]) else wrong["name"]
            hint = f"did you mean {close[0]!r}?" if close else f"one of {', '.join(choices)}"
            if not close and what == "command" and wrong["value"] in self.top_commands:
                hint = f"`dibs {wrong['value']}` is a command of its own; {hint}"
            raise BadInput(f"{prefix}unknown {what} {wrong['value']!r}; {hint} {see}")
        raise BadInput(f"{prefix}{message} {see}")

    def unrecognized(self, extra: list[str]) -> NoReturn:
        """Arguments this command does not take: named with the command, its help, and the
        nearest of its options (`--stauts` → `--status`)."""
        options = [o for a in self._actions for o in a.option_strings if o.startswith("--")]
        first = next((e.split("=", 1)[0] for e in extra if e.startswith("--")), None)
        close = difflib.get_close_matches(first, options, n=1, cutoff=0.75) if first else []
        hint = f"; did you mean {close[0]}?" if close and close[0] != first else ""
        self.error(f"unrecognized arguments: {' '.join(extra)}{hint}")

    def _subcommand_action(self) -> argparse._SubParsersAction[argparse.ArgumentParser] | None:
        for action in self._actions:
            if isinstance(action, argparse._SubParsersAction):
                return action
        return None

    def _is_subcommand(self, name: str) -> bool:
        sub = self._subcommand_action()
        return sub is not None and name in (sub.dest, sub.metavar, "COMMAND")

    def _choices_of(self, name: str) -> list[str]:
        sub = self._subcommand_action()
        if sub is not None and self._is_subcommand(name):
            return [str(c) for c in sub.choices]
        for action in self._actions:
            if action.choices is not None and name in {*action.option_strings, action.dest}:
                return [str(c) for c in action.choices]
        return []

    def _missing_subcommand(self, message: str) -> list[str] | None:
        """The group's subcommands, one line each, when `message` says none was given."""
        sub = self._subcommand_action()
        if sub is None or not message.startswith(_REQUIRED):
            return None
        missing = [m.strip() for m in message.removeprefix(_REQUIRED).split(",")]
        if sub.dest not in missing and (sub.metavar or "COMMAND") not in missing:
            return None
        helps = {a.dest: a.help or "" for a in sub._choices_actions}
        width = max((len(n) for n in helps), default=0)
        return [f"  {name.ljust(width)}  {text}".rstrip() for name, text in helps.items()]


#: The longest `--tick` of `dibs run` and `dibs serve`: a day. Schedules fire on time whatever
#: the tick; a longer sleep than the platform's timers allow ended `dibs run` in a traceback.
MAX_TICK_SECONDS = 86_400


def check_tick(seconds: float) -> float:
    """`--tick`, checked before the rule file is read and the database opened."""
    if not math.isfinite(seconds) or seconds <= 0:
        raise BadInput(f"--tick must be a positive number of seconds, got {seconds}")
    if seconds > MAX_TICK_SECONDS:
        raise BadInput(f"--tick must be at most {MAX_TICK_SECONDS} seconds (a day), got {seconds}")
    return seconds


def whole_number(text: str) -> int:
    """argparse's `type` for a quantity: what `engine.io.values.whole_number` takes (plain
    `int` also took `1_000` and non-ASCII digits, which no file reader does)."""
    from engine.io.values import Invalid
    from engine.io.values import whole_number as parse

    try:
        return parse(text)
    except Invalid as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def note_unknown(service: Service, kind: str, value: str) -> None:
    """`dibs: note: no order or stock has sku 'MUG-16Z'; did you mean 'MUG-16OZ'?` on stderr
    when no order or stock row has `value`: an empty listing because of a typo must not look
    like a true "none" (the listing stays empty, exit 0)."""
    known = service.known_values(kind)
    if value in known:
        return
    close = difflib.get_close_matches(value, known, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    print(f"dibs: note: no order or stock has {kind} {value!r}{hint}", file=sys.stderr)


def database_url(args: argparse.Namespace) -> str:
    """The database URL from `--db`, else `$DIBS_DB`, else the default; checked (exit 2)."""
    return check_database_url(
        str(getattr(args, "db", None) or os.environ.get("DIBS_DB") or DEFAULT_URL)
    )


_BACKENDS = ("sqlite", "postgresql", "postgres")
_EXAMPLES = "sqlite:///dibs.db for a file, postgresql+psycopg://USER@HOST/DBNAME for PostgreSQL"


def check_database_url(url: str) -> str:
    """`url` if dibs can use it, else one sentence saying what is wrong with it (BadInput).

    Caught here, before SQLAlchemy sees the URL, so a mistake never surfaces as a parser error,
    a missing Python module or a "cannot open" without the path."""
    shown = _without_password(url)
    if "://" not in url:
        if url in ("sqlite:", "sqlite:/"):
            return url  # Store.open explains that this names no file
        raise BadInput(
            f"database URL {shown!r} is not a URL; did you mean sqlite:///{url}? ({_EXAMPLES})"
        )
    scheme, rest = url.split("://", 1)
    backend, _, driver = scheme.lower().partition("+")
    if backend not in _BACKENDS:
        raise BadInput(
            f"database URL {shown!r}: dibs works with SQLite and PostgreSQL, "
            f"not {backend or 'an empty scheme'} ({_EXAMPLES})"
        )
    if backend == "sqlite":
        _check_sqlite(shown, rest)
    else:
        _check_driver(shown, driver or "psycopg")
    return url


def _without_password(url: str) -> str:
    """The URL as an error message may show it: a password becomes ***."""
    return re.sub(r"^([^:/]+://[^:/@]+:)[^@]*@", r"\1***@", url)


def _check_sqlite(url: str, rest: str) -> None:
    if rest in ("", "/", "/:memory:"):
        return
    if not rest.startswith("/"):
        raise BadInput(
            f"database URL {url!r}: a SQLite URL takes three slashes before a relative path "
            f"(sqlite:///{rest}) and four before an absolute one (sqlite:////var/lib/dibs.db)"
        )
    path = Path(rest[1:].split("?", 1)[0])
    try:
        is_dir = path.is_dir()
    except OSError as exc:  # a name too long for the file system, …
        raise BadInput(
            f"database file {quoted(str(path))} cannot be read: {exc.strerror}"
        ) from None
    if is_dir:
        raise BadInput(f"database URL {url!r}: {path} is a directory, not a database file")
    parent = path.parent
    if not parent.is_dir():
        raise BadInput(
            f"database URL {url!r}: the directory {parent} does not exist; create it first "
            "(dibs creates the database file, not its directory)"
        )


def _check_driver(url: str, driver: str) -> None:
    import importlib.util

    module = {"psycopg": "psycopg", "psycopg2": "psycopg2", "pg8000": "pg8000"}.get(driver, driver)
    if importlib.util.find_spec(module) is None:
        raise BadInput(
            f"database URL {url!r}: the PostgreSQL driver {driver} is not installed; "
            "pip install 'dibs[postgres]' installs psycopg (postgresql+psycopg://…)"
        )


def file_clock(path: str) -> Callable[[], datetime]:
    """A clock that reads the time from a file (`DIBS_CLOCK_FILE`): tests and simulations drive
    `dibs run` through days of schedules in seconds. Not for production."""

    def now() -> datetime:
        try:
            text = Path(path).read_text().strip()
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except (OSError, ValueError) as exc:
            raise BadInput(f"DIBS_CLOCK_FILE {path}: cannot read a time from it: {exc}") from exc
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

    return now


def open_service(args: argparse.Namespace, read_only: bool = False) -> Service:
    """The service over the database of `--db` / `$DIBS_DB` / the default. A command that
    only reads (`read_only`: listings, show, explain, status, previews, dry runs) refuses a
    SQLite file that does not exist, rather than make an empty one and report nothing in it;
    a command that writes makes it (and its schema)."""
    url = database_url(args)  # checked before SQLAlchemy is even imported
    if read_only:
        _require_database(args, url)
    from engine.service import Service

    made_here = url == DEFAULT_URL and not Path(DEFAULT_URL.removeprefix("sqlite:///")).exists()
    store = _open_store(url)
    if made_here and not getattr(args, "db", None) and not os.environ.get("DIBS_DB"):
        # In the wrong directory, an empty new database would look like a shop without orders.
        print(
            f"dibs: note: there was no database at {DEFAULT_URL} (the default, in this "
            "directory), so a new empty one was made; give --db URL or set DIBS_DB to use yours",
            file=sys.stderr,
        )
    clock_file = os.environ.get("DIBS_CLOCK_FILE")
    if clock_file:
        return Service(store, clock=file_clock(clock_file))
    return Service(store)


def _require_database(args: argparse.Namespace, url: str) -> None:
    """BadInput (exit 2, nothing created) when `url` names a SQLite file that does not exist."""
    path = sqlite_path(url)
    if path is None or path.exists():
        return
    chosen = getattr(args, "db", None) or os.environ.get("DIBS_DB")
    where = "" if chosen else " (the default, in this directory)"
    raise BadInput(
        f"no database at {path}{where}; this command only reads, so it made none: check "
        "--db or DIBS_DB (a command that writes, such as `dibs orders import`, creates it)"
    )


def _open_store(url: str) -> Store:
    """`Store.open(url)`; SQLite's "unable to open database file" (a directory that takes no new
    file: read-only, another user's, a special file system) names the file and what to check."""
    from sqlalchemy.exc import OperationalError

    from engine.store import Store

    try:
        return Store.open(url)
    except OperationalError as exc:
        path = sqlite_path(url)
        if path is None or "unable to open database file" not in str(exc):
            raise
        raise OperationFailed(
            f"database {path}: SQLite cannot open or create this file (unable to open database "
            f"file); check that the directory {path.parent} takes new files and that this user "
            "may read and write in it"
        ) from None


def sqlite_path(url: str) -> Path | None:
    """The file a SQLite URL names; None for another database or an in-memory one."""
    scheme, _, rest = url.partition("://")
    if not scheme.lower().startswith("sqlite") or rest in ("", "/", "/:memory:"):
        return None
    return Path(rest[1:].split("?", 1)[0])
