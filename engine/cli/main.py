"""The `dibs` command (SPEC §8): the only place that reads argv and the environment and prints.

Exit codes: 0 success, 1 the operation failed, 2 bad input. Errors are one message on stderr,
never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from engine.cli import allocation, events, inventory, orders, output, rules
from engine.cli.common import Parser
from engine.errors import DibsError, OperationFailed
from engine.store import DEFAULT_URL

Handler = Callable[[argparse.Namespace], int]

#: Each command group is a module with `add_commands(subparsers)`; a new group is one more entry.
COMMAND_GROUPS = (inventory, orders, allocation, rules, events)


def cmd_demo(args: argparse.Namespace) -> int:
    from engine.cli.demo import run_demo

    return run_demo(output.console())


# --------------------------------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="dibs", description="Reserve stock for orders, by rules you can test.")
    parser.add_argument("--db", help=f"database URL (else $DIBS_DB, else {DEFAULT_URL})")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)

    sub.add_parser("demo", help="a self-contained tour on a throwaway database").set_defaults(
        handler=cmd_demo
    )
    for group in COMMAND_GROUPS:
        group.add_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `dibs` console script."""
    try:
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
    except KeyboardInterrupt:
        print("dibs: interrupted; nothing half-done was kept", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

__all__ = ["OperationFailed", "main"]
