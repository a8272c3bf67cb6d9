"""The `dibs` command (SPEC §8): the only place that reads argv and the environment and prints.

Exit codes: 0 success, 1 the operation failed, 2 bad input. Errors are one message on stderr,
never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from engine.cli import allocation, events, inventory, kits, orders, output, rules, serve, status
from engine.cli.common import Parser
from engine.cli.examples import epilog
from engine.errors import BadInput, DibsError, OperationFailed, quoted
from engine.store import DEFAULT_URL

Handler = Callable[[argparse.Namespace], int]

#: Each command group is a module with `add_commands(subparsers)`; a new group is one more entry.
COMMAND_GROUPS = (inventory, orders, allocation, rules, kits, events, status, serve)


def cmd_demo(args: argparse.Namespace) -> int:
    from engine.cli.demo import run_demo

    return run_demo(output.console())


# --------------------------------------------------------------------------------------- parser


def version() -> str:
    try:
        from importlib.metadata import version as installed

        return installed("dibs")
    except Exception:  # not installed (run from a bare checkout)
        return "unknown"


DB_HELP = f"database URL (else $DIBS_DB, else {DEFAULT_URL})"


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="dibs",
        description="Reserve stock for orders, by rules you can test.",
        epilog="examples:\n  dibs demo\n  dibs --db sqlite:///shop.db orders list\n"
        "  dibs allocate --help",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--db", metavar="URL", help=DB_HELP)
    parser.add_argument("--version", action="version", version=f"dibs {version()}")
    sub = parser.add_subparsers(
        dest="command", metavar="COMMAND", required=True, parser_class=Parser
    )

    sub.add_parser("demo", help="a self-contained tour on a database of its own").set_defaults(
        handler=cmd_demo
    )
    for group in COMMAND_GROUPS:
        group.add_commands(sub)
    _finish(parser, "")
    return parser


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


def _is_driver_error(exc: BaseException) -> bool:
    """A DB-API error raised past SQLAlchemy (the raw cursor of engine.store.bulk)."""
    module = type(exc).__module__
    return module.startswith(("psycopg", "sqlite3"))


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


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `dibs` console script."""
    try:
        check_arguments(sys.argv[1:] if argv is None else argv)
        args = build_parser().parse_args(argv)
        handler: Handler = args.handler
        return handler(args)
    except DibsError as exc:
        print(f"dibs: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except DBAPIError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        print(f"dibs: error: database: {reason}", file=sys.stderr)
        return 1
    except SQLAlchemyError as exc:
        print(f"dibs: error: database: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:
        if not _is_driver_error(exc):
            raise
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"dibs: error: database: {reason[:300]}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("dibs: interrupted; nothing half-done was kept", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

__all__ = ["OperationFailed", "main"]
