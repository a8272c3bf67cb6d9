"""The `dibs` command (SPEC §8): the only place that reads argv and the environment and prints.

Exit codes: 0 success, 1 the operation failed, 2 bad input. Errors are one message on stderr,
never a traceback.

Start-up is kept cheap (docs/cli.md, "Start-up"): the top-level commands are a table here
(`COMMANDS`), and parsing imports and builds only the command modules of the commands named on
the command line; each command imports its work (SQLAlchemy, the service, the rules loader,
Rich) when it runs, so `dibs --help`, `--version` or `dibs rules check` never pay for the
database, nor `dibs orders show` for the rule engine's commands. tests/unit/cli/test_startup.py
guards this.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from importlib import import_module

from engine import __version__
from engine.cli.common import DEFAULT_URL, Parser
from engine.cli.examples import epilog
from engine.errors import BadInput, DibsError, OperationFailed, quoted

Handler = Callable[[argparse.Namespace], int]

#: The top-level commands in `dibs --help` order: the module of engine.cli that builds each one
#: and its help line. A module's `add_commands(parsers)` gets the parsers of its commands here
#: and adds their options, subcommands and handlers; a new command is one more entry. `demo` is
#: built in this module (its module imports the rule runner).
COMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("main", "a self-contained tour on a database of its own"),
    "inventory": ("inventory", "stock on hand"),
    "orders": ("orders", "sales orders"),
    "allocate": ("allocation", "reserve stock for orders (FIFO by default)"),
    "deallocate": ("allocation", "release every reservation of orders"),
    "reallocate": ("allocation", "deallocate then allocate (back of the queue)"),
    "history": ("allocation", "the ledger entries of an order"),
    "rules": ("rules", "check, test and preview rule files"),
    "explain": ("rules", "why an order has its status"),
    "run": ("rules", "the scheduler: events and schedules, until stopped"),
    "kits": ("kits", "kits: SKUs made of components"),
    "events": ("events", "the events dibs recorded (the outbox)"),
    "deliveries": ("events", "outbound webhook deliveries (notify:)"),
    "status": ("status", "pending events, last tick, schedules, what needs a person"),
    "serve": ("serve", "the HTTP API and webhook receivers (+ ticks with --rules)"),
}


def add_commands(parsers: Mapping[str, Parser]) -> None:
    parsers["demo"].set_defaults(handler=cmd_demo)


def cmd_demo(args: argparse.Namespace) -> int:
    from engine.cli import output
    from engine.cli.demo import run_demo

    return run_demo(output.console())


# --------------------------------------------------------------------------------------- parser


DB_HELP = f"database URL (else $DIBS_DB, else {DEFAULT_URL})"


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The `dibs` parser. Given the command line `argv`, only the commands named in it are built
    whole; every other command is its name and help line, all that `dibs --help` and the
    did-you-mean of a mistyped command show of it. Without `argv`, every command is built."""
    parser = Parser(
        prog="dibs",
        description="Reserve stock for orders, by rules you can test.",
        epilog="examples:\n  dibs demo\n  dibs --db sqlite:///shop.db orders list\n"
        "  dibs allocate --help",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--db", metavar="URL", help=DB_HELP)
    parser.add_argument("--version", action="version", version=f"dibs {__version__}")
    sub = parser.add_subparsers(
        dest="command", metavar="COMMAND", required=True, parser_class=Parser
    )
    parsers = {name: sub.add_parser(name, help=text) for name, (_, text) in COMMANDS.items()}
    for group in parsers.values():
        group.top_commands = tuple(COMMANDS)
    for module in _modules(COMMANDS if argv is None else argv):
        commands = {name: parsers[name] for name, (of, _) in COMMANDS.items() if of == module}
        import_module(f"engine.cli.{module}").add_commands(commands)
    _finish(parser, "")
    return parser


def _modules(words: Iterable[str]) -> list[str]:
    """The command modules of the commands among `words`, in `COMMANDS` order. Every word of the
    command line is looked up, not only the one argparse will take as the command, so a word
    that is an option's value (`--db`'s, an order id) at worst builds one module more."""
    named = {COMMANDS[word][0] for word in words if word in COMMANDS}
    return [module for module in dict.fromkeys(m for m, _ in COMMANDS.values()) if module in named]


def check_arguments(argv: Sequence[str]) -> None:
    """Refuse arguments no database or file name can take (exit 2): bytes that are not UTF-8
    (Python hands them over as lone surrogates) and NUL characters."""
    for number, arg in enumerate(argv, start=1):
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise BadInput(
                f"argument {number} is not valid UTF-8 text (byte "
                f"0x{ord(arg[exc.start]) & 0xFF:02X} at character {exc.start + 1}): "
                f"{quoted(arg.encode('utf-8', 'backslashreplace').decode('ascii'))}"
            ) from None
        if "\x00" in arg:
            raise BadInput(f"argument {number} contains a NUL character")


def _database_error(exc: Exception) -> str | None:
    """The one-line message for a database error (SQLAlchemy's, or a DB-API error raised past it
    by the raw cursor of engine.store.bulk); None for any other exception.

    SQLAlchemy is looked up in sys.modules rather than imported: a process that never imported
    it cannot have raised its errors, and `dibs --help` must not pay for importing it."""
    sa = sys.modules.get("sqlalchemy.exc")
    if sa is not None and isinstance(exc, sa.DBAPIError):
        orig = exc.orig
        return str(orig).strip().splitlines()[0] if orig else str(exc)
    if sa is not None and isinstance(exc, sa.SQLAlchemyError):
        return str(exc)
    if type(exc).__module__.startswith(("psycopg", "sqlite3")):
        text = str(exc).strip()
        return (text.splitlines()[0] if text else type(exc).__name__)[:300]
    return None


def _finish(parser: argparse.ArgumentParser, path: str) -> None:
    """Walk the command tree once it is built: each command's description is its help line,
    its examples (engine/cli/examples.py) go under the options, groups list their commands under
    COMMAND, and every command takes `--db` after its name too (`dibs orders list --db URL`)."""
    for action in parser._actions:
        if not isinstance(action, argparse._SubParsersAction):
            continue
        if action.metavar is None:
            action.metavar = "COMMAND"
        helps = {a.dest: a.help for a in action._choices_actions}
        for name, child in action.choices.items():
            command = f"{path} {name}".strip()
            child.description = child.description or helps.get(name)
            child.formatter_class = argparse.RawDescriptionHelpFormatter
            child.epilog = child.epilog or epilog(command)
            _finish(child, command)
        return
    if path:  # a leaf command
        parser.add_argument("--db", metavar="URL", default=argparse.SUPPRESS, help=DB_HELP)
        parser.set_defaults(leaf_parser=parser)  # whose options an unknown one is reported in


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `dibs` console script."""
    try:
        argv = sys.argv[1:] if argv is None else argv
        check_arguments(argv)
        parser = build_parser(argv)
        args, extra = parser.parse_known_args(argv)
        if extra:
            leaf = getattr(args, "leaf_parser", None) or parser
            if isinstance(leaf, Parser):
                leaf.unrecognized(extra)
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        handler: Handler = args.handler
        return handler(args)
    except DibsError as exc:
        print(f"dibs: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:  # `dibs orders list | head`: the reader has what it wanted
        _quiet_stdout()
        return 0
    except Exception as exc:
        reason = _database_error(exc)
        if reason is None:
            raise
        print(f"dibs: error: database: {reason}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("dibs: interrupted; nothing half-done was kept", file=sys.stderr)
        return 130


def _quiet_stdout() -> None:
    """Point stdout at /dev/null, so that flushing it at exit does not fail a second time
    ("Exception ignored … BrokenPipeError" on stderr)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout is no file (captured in tests): nothing to flush
        pass


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

__all__ = ["OperationFailed", "main"]
