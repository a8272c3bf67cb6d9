"""`dibs allocate / deallocate / reallocate / history`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from engine.cli import output
from engine.cli.common import Parser, open_service
from engine.errors import BadInput
from engine.model import Policy

if TYPE_CHECKING:
    from engine.service.records import AllocationReport


def _where_clause(text: str | None) -> Any:
    if not text:
        return None
    from engine.store.where import where_clause

    return where_clause(text)


def _show_report(report: AllocationReport, as_json: bool, title: str, dry: bool = False) -> None:
    """The report: JSON, or the orders whose status changes (a dry run lists every one of them,
    its plan; a real run up to 50) on stdout and a summary on stderr."""
    if as_json:
        output.print_json({**report.as_json(), "dry_run": True} if dry else report.as_json())
        return
    n_changed, changed = report.changed()
    if dry:  # the plan: every order that would change, to what (a title would wrap)
        print(f"{title}: {len(changed)} orders would change")
        if changed:
            output.print_records(None, changed, ["id", "before", "after"], style_column="after")
    elif 0 < n_changed <= 50:  # none changed: the summary below says so, no empty table
        output.print_records(title, changed, ["id", "before", "after"], style_column="after")
    counts = report.counts()
    summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    unchanged = report.processed - n_changed
    print(
        f"{'Dry run, nothing was written: ' if dry else ''}{report.processed} orders "
        f"processed: {summary or 'nothing to do'}; {n_changed} "
        f"{'would change' if dry else 'changed'} status, {unchanged} unchanged; "
        f"{report.reserved_units} units {'would be ' if dry else ''}reserved",
        file=sys.stderr,
    )
    for row in report.skipped:
        print(f"skipped {row['id']}: {row['reason']}", file=sys.stderr)


def _ids_or_selection(args: argparse.Namespace) -> Sequence[str] | None:
    """The ids named, or None for a selection; `--all` only where the command has it."""
    has_all = hasattr(args, "all")
    ways = "--all/--where" if has_all else "--where"
    if args.ids and (getattr(args, "all", False) or args.where):
        raise BadInput(f"name orders or select them with {ways}, not both")
    if not args.ids and not getattr(args, "all", False) and not args.where:
        choices = "IDs, --all or --where CONDITION" if has_all else "IDs or --where CONDITION"
        raise BadInput(f"say which orders: {choices}")
    return args.ids or None


def _from_list(args: argparse.Namespace) -> list[str] | None:
    """`--from east,west` -> ["east", "west"] (checked by the service); None without it."""
    return None if args.from_ is None else args.from_.split(",")


def cmd_allocate(args: argparse.Namespace) -> int:
    from engine.store.ordering import parse_order_by

    ids = _ids_or_selection(args)
    order_by = parse_order_by(args.order_by) if args.order_by else []
    where = _where_clause(args.where)
    service = open_service(args, read_only=args.dry_run)
    with output.progress_bar("allocating", enabled=not args.json) as progress:
        report = service.allocate(
            ids,
            where,
            order_by,
            Policy(args.policy),
            dry_run=args.dry_run,
            progress=progress,
            warehouses=_from_list(args),
            # A dry run lists every change, JSON every order; else a summary (bounded memory).
            detail=args.json or args.dry_run,
        )
    title = "Dry run: nothing was written" if args.dry_run else "Allocation"
    _show_report(report, args.json, title, dry=args.dry_run)
    return 0


def cmd_deallocate(args: argparse.Namespace) -> int:
    ids = _ids_or_selection(args)
    report = open_service(args, read_only=args.dry_run).deallocate(
        ids, _where_clause(args.where), dry_run=args.dry_run
    )
    title = "Dry run: nothing was written" if args.dry_run else "Deallocated"
    _show_report(report, args.json, title, dry=args.dry_run)
    return 0


def cmd_reallocate(args: argparse.Namespace) -> int:
    report = open_service(args).reallocate(
        args.ids, Policy(args.policy), warehouses=_from_list(args)
    )
    _show_report(report, args.json, "Reallocated")
    return 0


def cmd_history(args: argparse.Namespace) -> int:
    rows = open_service(args, read_only=True).history(args.id)
    if args.json:
        output.print_json(rows)
    else:
        output.print_records(
            f"History of {args.id}",
            rows,
            ["at", "line", "sku", "warehouse", "delta", "operation", "rule", "ruleset", "actor"],
        )
    return 0


def add_commands(parsers: Mapping[str, Parser]) -> None:
    policies = [x.value for x in Policy]
    p = parsers["allocate"]
    p.add_argument("ids", nargs="*", metavar="ID", help="the orders to allocate")
    p.add_argument("--all", action="store_true", help="every open order that needs stock")
    p.add_argument("--where", metavar="CONDITION", help="a rule-language condition")
    p.add_argument("--order-by", metavar="KEYS", help='e.g. "total desc, placed_at"')
    p.add_argument(
        "--policy", choices=policies, default=Policy.LINES.value, help="default: %(default)s"
    )
    p.add_argument(
        "--dry-run", action="store_true", help="print the plan (which orders would change)"
    )
    _add_from(p)
    p.add_argument("--json", action="store_true", help="results and skipped orders as JSON")
    p.set_defaults(handler=cmd_allocate)
    p = parsers["deallocate"]
    p.add_argument("ids", nargs="*", metavar="ID", help="the orders to deallocate")
    p.add_argument("--where", metavar="CONDITION", help="the open orders this condition picks")
    p.add_argument("--dry-run", action="store_true", help="print the plan; write nothing")
    p.add_argument("--json", action="store_true", help="results and skipped orders as JSON")
    p.set_defaults(handler=cmd_deallocate)
    p = parsers["reallocate"]
    p.add_argument("ids", nargs="+", metavar="ID", help="the orders to reallocate")
    p.add_argument(
        "--policy", choices=policies, default=Policy.LINES.value, help="default: %(default)s"
    )
    _add_from(p)
    p.add_argument("--json", action="store_true", help="results and skipped orders as JSON")
    p.set_defaults(handler=cmd_reallocate)
    p = parsers["history"]
    p.add_argument("id", help="the order id")
    p.add_argument("--json", action="store_true", help="the entries as a JSON list")
    p.set_defaults(handler=cmd_history)


def _add_from(p: Any) -> None:
    p.add_argument(
        "--from",
        dest="from_",
        metavar="W1,W2",
        help="reserve in these warehouses, in this order of preference (default: the order's own)",
    )
