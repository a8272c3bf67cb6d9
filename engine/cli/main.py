"""The `dibs` command (SPEC §8): the only place that reads argv and the environment and prints.

Exit codes: 0 success, 1 the operation failed, 2 bad input. Errors are one message on stderr,
never a traceback.

Start-up is kept cheap (docs/cli.md, "Start-up"): building the parser imports only the command
modules and the standard library; each command imports its work (SQLAlchemy, the service, the
rules loader, Rich) when it runs, so `dibs --help` or `dibs rules check` never pay for the
database. tests/unit/cli/test_startup.py guards this.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from engine.cli import allocation, events, inventory, kits, orders, rules, serve, status
from engine.cli.common import DEFAULT_URL, Parser
from engine.cli.examples import epilog
from engine.errors import BadInput, DibsError, OperationFailed, quoted

Handler = Callable[[argparse.Namespace], int]

#: Each command group is a module with `add_commands(subparsers)`; a new group is one more entry.
COMMAND_GROUPS = (inventory, orders, allocation, rules, kits, events, status, serve)


def cmd_demo(args: argparse.Namespace) -> int:
    from engine.cli import output
    from engine.cli.demo import run_demo

    return run_demo(output.console())


# --------------------------------------------------------------------------------------- parser


def version() -> str:
    try:
        from importlib.metadata import version as installed

        return installed("dibs")
    except Exception:  # not installed (run from a bare checkout)
        return "unknown"


class _Version(argparse.Action):
    """`--version`, looked up only when asked for (importlib.metadata scans the installed
    distributions: a cost every other command would pay at parser-building time)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kw: Any) -> None:
        kw.setdefault("help", "show program's version number and exit")
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kw)

    def __call__(self, parser: argparse.ArgumentParser, *_: Any) -> None:
        print(f"dibs {version()}")
        parser.exit()


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
    parser.add_argument("--version", action=_Version)
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
        check_arguments(sys.argv[1:] if argv is None else argv)
        parser = build_parser()
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
