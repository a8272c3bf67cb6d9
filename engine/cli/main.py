"""The `dibs` command (SPEC §8): the only place that reads argv and the environment and prints.

Exit codes: 0 success, 1 the operation failed, 2 bad input. Errors are one message on stderr,
never a traceback.
"""

from __future__ import annotations

import argparse
import difflib
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from engine.cli import output
from engine.cli.common import Parser, open_service
from engine.errors import BadInput, DibsError, OperationFailed, OrdersExist
from engine.model import DEFAULT_WAREHOUSE, AllocationStatus, OrderStatus, Policy
from engine.service.records import AllocationReport
from engine.service.shapes import order_json
from engine.store import DEFAULT_URL
from engine.store.ordering import parse_order_by

Handler = Callable[[argparse.Namespace], int]


# ------------------------------------------------------------------------------------ inventory


def cmd_inventory_change(args: argparse.Namespace) -> int:
    kind = {"set": "set", "adjust": "adjusted", "receive": "received"}[args.inventory_cmd]
    row = open_service(args).change_stock(args.sku, args.warehouse, args.qty, kind)
    if args.json:
        output.print_json(row)
    else:
        print(f"{row['sku']} @ {row['warehouse']}: on hand {row['on_hand']}, "
              f"allocated {row['allocated']}, available {row['available']}")
    return 0


def cmd_inventory_import(args: argparse.Namespace) -> int:
    from engine.io.imports import read_inventory

    rows = read_inventory(Path(args.file))
    count = open_service(args).import_inventory(rows)
    print(f"set on hand for {count} SKU/warehouse rows from {args.file}", file=sys.stderr)
    return 0


def cmd_inventory_list(args: argparse.Namespace) -> int:
    rows = open_service(args).list_inventory(args.sku)
    if args.json:
        output.print_json(rows)
    else:
        output.print_records("Inventory", rows,
                             ["sku", "warehouse", "on_hand", "allocated", "available"])
    return 0


# --------------------------------------------------------------------------------------- orders


def cmd_orders_import(args: argparse.Namespace) -> int:
    from engine.io.imports import read_orders

    places: dict[str, str] = {}
    new = read_orders(Path(args.file), places=places)
    service = open_service(args)
    try:
        with output.progress_bar("importing", enabled=True) as progress:
            count = service.add_orders(new, progress)
    except OrdersExist as exc:
        raise BadInput(f"{args.file}: {len(exc.ids)} order id(s) already exist; nothing imported"
                       " (dibs never overwrites an order on import)",
                       problems=[f"{places.get(oid, args.file)}: order {oid!r} already exists"
                                 for oid in exc.ids]) from exc
    print(f"imported {count} orders from {args.file}", file=sys.stderr)
    return 0


def cmd_orders_add(args: argparse.Namespace) -> int:
    from engine.io.imports import order_from_mapping, parse_line_spec

    lines = [parse_line_spec(spec) for spec in args.line]
    record: dict[str, Any] = {
        "id": args.id, "channel": args.channel,
        "lines": [{"sku": sku, "qty": qty} for sku, qty in lines],
        "warehouse": args.warehouse, "tags": args.tag or [],
    }
    if args.placed_at:
        record["placed_at"] = args.placed_at
    ship_to = {k: v for k, v in (("country", args.country), ("state", args.state)) if v}
    if ship_to:
        record["ship_to"] = ship_to
    if args.shipping_method:
        record["shipping_method"] = args.shipping_method
    if args.total is not None:
        record["total"] = args.total
    service = open_service(args)
    order = order_from_mapping(record, "orders add", service.clock())
    service.add_orders([order])
    print(f"added order {order.id}", file=sys.stderr)
    return 0


def cmd_orders_list(args: argparse.Namespace) -> int:
    statuses = [s.strip() for s in (args.status or "").split(",") if s.strip()]
    known = [*(x.value for x in OrderStatus), *(x.value for x in AllocationStatus)]
    for status in statuses:
        if status not in known:
            close = difflib.get_close_matches(status, known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; one of {', '.join(known)}"
            raise BadInput(f"--status: unknown status {status!r}{hint}")
    rows = open_service(args).list_orders(statuses, args.channel)
    if args.json:
        output.print_json(rows)
    else:
        output.print_records(f"Orders ({len(rows)})", rows,
                             ["id", "channel", "placed_at", "status", "allocation_status",
                              "shipping_method", "country", "lines", "units"])
    return 0


def cmd_orders_show(args: argparse.Namespace) -> int:
    service = open_service(args)
    doc = order_json(service.get_order(args.id))
    if args.json:
        output.print_json(doc)
        return 0
    head = [(k, doc[k]) for k in ("id", "channel", "status", "allocation_status", "placed_at",
                                  "shipping_method", "total", "warehouse")]
    ship_to = ", ".join(v for v in doc["ship_to"].values() if v)
    head += [("ship_to", ship_to), ("tags", ", ".join(doc["tags"]))]
    output.print_table(None, ["field", "value"], head, style_column="value")
    output.print_records("Lines", doc["lines"], ["sku", "qty", "reserved"])
    return 0


def cmd_orders_edit(args: argparse.Namespace) -> int:
    from engine.io.imports import parse_line_spec

    order = open_service(args).edit(args.id, [parse_line_spec(s) for s in args.line])
    print(f"{order.id}: {order.allocation_status}", file=sys.stderr)
    return 0


def cmd_orders_finish(args: argparse.Namespace) -> int:
    done = open_service(args).finish(args.ids, args.orders_cmd)
    verb = {"ship": "shipped", "cancel": "cancelled", "dropship": "dropshipped"}[args.orders_cmd]
    print(f"{verb} {', '.join(done)}", file=sys.stderr)
    return 0


def cmd_orders_split(args: argparse.Namespace) -> int:
    original, child = open_service(args).split(args.id)
    print(f"{original.id} keeps {original.unit_count} reserved units "
          f"({original.allocation_status}); {child.id} takes {child.unit_count} units",
          file=sys.stderr)
    return 0


# ----------------------------------------------------------------------------------- allocation


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
    print(f"{'Dry run, nothing was written: ' if dry else ''}{len(report.results)} orders "
          f"processed: {summary or 'nothing to do'}; {report.reserved_units} units "
          f"{'would be ' if dry else ''}reserved", file=sys.stderr)
    for row in report.skipped:
        print(f"skipped {row['id']}: {row['reason']}", file=sys.stderr)


def _ids_or_selection(args: argparse.Namespace) -> Sequence[str] | None:
    if args.ids and (getattr(args, "all", False) or args.where):
        raise BadInput("name orders or select them with --all/--where, not both")
    if not args.ids and not getattr(args, "all", False) and not args.where:
        raise BadInput("say which orders: IDs, --all or --where CONDITION")
    return args.ids or None


def cmd_allocate(args: argparse.Namespace) -> int:
    ids = _ids_or_selection(args)
    order_by = parse_order_by(args.order_by) if args.order_by else []
    where = _where_clause(args.where)
    service = open_service(args)
    with output.progress_bar("allocating", enabled=not args.json) as progress:
        report = service.allocate(ids, where, order_by, Policy(args.policy),
                                  dry_run=args.dry_run, progress=progress)
    _show_report(report, args.json, "Dry run: nothing was written" if args.dry_run
                 else "Allocation")
    return 0


def cmd_deallocate(args: argparse.Namespace) -> int:
    ids = _ids_or_selection(args)
    report = open_service(args).deallocate(ids, _where_clause(args.where))
    _show_report(report, args.json, "Deallocated")
    return 0


def cmd_reallocate(args: argparse.Namespace) -> int:
    report = open_service(args).reallocate(args.ids, Policy(args.policy))
    _show_report(report, args.json, "Reallocated")
    return 0


def cmd_history(args: argparse.Namespace) -> int:
    rows = open_service(args).history(args.id)
    if args.json:
        output.print_json(rows)
    else:
        output.print_records(f"History of {args.id}", rows,
                             ["at", "line", "sku", "warehouse", "delta", "operation", "rule",
                              "ruleset", "actor"])
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from engine.cli.demo import run_demo

    return run_demo(output.console())


# --------------------------------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="dibs", description="Reserve stock for orders, by rules you can test.")
    parser.add_argument("--db", help=f"database URL (else $DIBS_DB, else {DEFAULT_URL})")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)

    sub.add_parser("demo", help="a self-contained tour on a throwaway database").set_defaults(
        handler=cmd_demo)
    _inventory_commands(sub)
    _order_commands(sub)
    _allocation_commands(sub)
    from engine.cli.rules import add_commands

    add_commands(sub)
    p = sub.add_parser("history", help="the ledger entries of an order")
    p.add_argument("id")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_history)
    return parser


def _inventory_commands(sub: Any) -> None:
    inv = sub.add_parser("inventory", help="stock on hand").add_subparsers(
        dest="inventory_cmd", required=True, parser_class=Parser)
    for name, label in (("set", "QTY"), ("adjust", "DELTA"), ("receive", "QTY")):
        p = inv.add_parser(name)
        p.add_argument("sku")
        p.add_argument("qty", type=int, metavar=label)
        p.add_argument("--warehouse", default=DEFAULT_WAREHOUSE)
        p.add_argument("--json", action="store_true")
        p.set_defaults(handler=cmd_inventory_change)
    p = inv.add_parser("import", help="CSV: sku,on_hand[,warehouse] (sets on hand)")
    p.add_argument("file")
    p.set_defaults(handler=cmd_inventory_import)
    p = inv.add_parser("list")
    p.add_argument("--sku")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_inventory_list)


def _order_commands(sub: Any) -> None:
    orders = sub.add_parser("orders", help="sales orders").add_subparsers(
        dest="orders_cmd", required=True, parser_class=Parser)
    p = orders.add_parser("import", help=".json (array), .jsonl or .csv (one row per line)")
    p.add_argument("file")
    p.set_defaults(handler=cmd_orders_import)
    p = orders.add_parser("add")
    p.add_argument("id")
    p.add_argument("--channel", required=True)
    p.add_argument("--line", action="append", required=True, metavar="SKU:QTY")
    p.add_argument("--placed-at")
    p.add_argument("--country")
    p.add_argument("--state")
    p.add_argument("--shipping-method")
    p.add_argument("--total")
    p.add_argument("--tag", action="append")
    p.add_argument("--warehouse", default=DEFAULT_WAREHOUSE)
    p.set_defaults(handler=cmd_orders_add)
    p = orders.add_parser("list")
    p.add_argument("--status", help="order or allocation statuses, comma-separated")
    p.add_argument("--channel")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_orders_list)
    p = orders.add_parser("show")
    p.add_argument("id")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_orders_show)
    p = orders.add_parser("edit", help="replace the order's lines")
    p.add_argument("id")
    p.add_argument("--line", action="append", required=True, metavar="SKU:QTY")
    p.set_defaults(handler=cmd_orders_edit)
    for name in ("ship", "cancel", "dropship"):
        p = orders.add_parser(name)
        p.add_argument("ids", nargs="+", metavar="ID")
        p.set_defaults(handler=cmd_orders_finish)
    p = orders.add_parser("split", help="move unreserved units into a new order")
    p.add_argument("id")
    p.set_defaults(handler=cmd_orders_split)


def _allocation_commands(sub: Any) -> None:
    p = sub.add_parser("allocate", help="reserve stock for orders (FIFO by default)")
    p.add_argument("ids", nargs="*", metavar="ID")
    p.add_argument("--all", action="store_true", help="every open order that needs stock")
    p.add_argument("--where", metavar="CONDITION", help="a rule-language condition")
    p.add_argument("--order-by", metavar="KEYS", help='e.g. "total desc, placed_at"')
    p.add_argument("--policy", choices=[x.value for x in Policy], default=Policy.LINES.value)
    p.add_argument("--dry-run", action="store_true", help="show what would happen; write nothing")
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
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_reallocate)


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
