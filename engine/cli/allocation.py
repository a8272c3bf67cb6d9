"""`dibs allocate / deallocate / reallocate / history`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from engine.cli import output
from engine.cli.common import open_service
from engine.errors import BadInput
from engine.model import Policy
from engine.service.records import AllocationReport
from engine.store.ordering import parse_order_by


def _where_clause(text: str | None) -> Any:
    if not text:
        return None
    from engine.store.where import where_clause

    return where_clause(text)


def _show_report(report: AllocationReport, as_json: bool, title: str) -> None:
    if as_json:
        output.print_json(report.as_json())
        return
    changed = [r for r in report.results if r["before"] != r["after"]]
    if len(changed) <= 50:
        output.print_records(title, changed, ["id", "before", "after"], style_column="after")
    counts = report.counts()
    summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    dry = title.startswith("Dry run")
    print(
        f"{'Dry run, nothing was written: ' if dry else ''}{len(report.results)} orders "
        f"processed: {summary or 'nothing to do'}; {report.reserved_units} units "
        f"{'would be ' if dry else ''}reserved",
        file=sys.stderr,
    )
    for row in report.skipped:
        print(f"skipped {row['id']}: {row['reason']}", file=sys.stderr)


def _ids_or_selection(args: argparse.Namespace) -> Sequence[str] | None:
    if args.ids and (getattr(args, "all", False) or args.where):
        raise BadInput("name orders or select them with --all/--where, not both")
    if not args.ids and not getattr(args, "all", False) and not args.where:
        raise BadInput("say which orders: IDs, --all or --where CONDITION")
    return args.ids or None


def _from_list(args: argparse.Namespace) -> list[str] | None:
    """`--from east,west` -> ["east", "west"] (checked by the service); None without it."""
    return None if args.from_ is None else args.from_.split(",")


def cmd_allocate(args: argparse.Namespace) -> int:
    ids = _ids_or_selection(args)
    order_by = parse_order_by(args.order_by) if args.order_by else []
    where = _where_clause(args.where)
    service = open_service(args)
    with output.progress_bar("allocating", enabled=not args.json) as progress:
        report = service.allocate(
            ids,
            where,
            order_by,
            Policy(args.policy),
            dry_run=args.dry_run,
            progress=progress,
            warehouses=_from_list(args),
        )
    _show_report(
        report, args.json, "Dry run: nothing was written" if args.dry_run else "Allocation"
    )
    return 0


def cmd_deallocate(args: argparse.Namespace) -> int:
    ids = _ids_or_selection(args)
    report = open_service(args).deallocate(ids, _where_clause(args.where))
    _show_report(report, args.json, "Deallocated")
    return 0


def cmd_reallocate(args: argparse.Namespace) -> int:
    report = open_service(args).reallocate(
        args.ids, Policy(args.policy), warehouses=_from_list(args)
    )
    _show_report(report, args.json, "Reallocated")
    return 0


def cmd_history(args: argparse.Namespace) -> int:
    rows = open_service(args).history(args.id)
    if args.json:
        output.print_json(rows)
    else:
        output.print_records(
            f"History of {args.id}",
            rows,
            ["at", "line", "sku", "warehouse", "delta", "operation", "rule", "ruleset", "actor"],
        )
    return 0


def add_commands(sub: Any) -> None:
    p = sub.add_parser("allocate", help="reserve stock for orders (FIFO by default)")
    p.add_argument("ids", nargs="*", metavar="ID")
    p.add_argument("--all", action="store_true", help="every open order that needs stock")
    p.add_argument("--where", metavar="CONDITION", help="a rule-language condition")
    p.add_argument("--order-by", metavar="KEYS", help='e.g. "total desc, placed_at"')
    p.add_argument("--policy", choices=[x.value for x in Policy], default=Policy.LINES.value)
    p.add_argument("--dry-run", action="store_true", help="show what would happen; write nothing")
    _add_from(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_allocate)
    p = sub.add_parser("deallocate", help="release every reservation of orders")
    p.add_argument("ids", nargs="*", metavar="ID")
    p.add_argument("--where", metavar="CONDITION")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_deallocate)
    p = sub.add_parser("reallocate", help="deallocate then allocate (back of the queue)")
    p.add_argument("ids", nargs="+", metavar="ID")
    p.add_argument("--policy", choices=[x.value for x in Policy], default=Policy.LINES.value)
    _add_from(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_reallocate)
    p = sub.add_parser("history", help="the ledger entries of an order")
    p.add_argument("id")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_history)


def _add_from(p: Any) -> None:
    p.add_argument(
        "--from",
        dest="from_",
        metavar="W1,W2",
        help="reserve in these warehouses, in this order of preference (default: the order's own)",
    )
