"""`dibs orders …`: import, add, list, show, edit, ship, cancel, dropship, split."""

from __future__ import annotations

import argparse
import difflib
import sys
from pathlib import Path
from typing import Any

from engine.cli import output
from engine.cli.common import Parser, open_service
from engine.errors import BadInput, OrdersExist
from engine.model import DEFAULT_WAREHOUSE, AllocationStatus, OrderStatus


def cmd_orders_import(args: argparse.Namespace) -> int:
    from engine.io.imports import read_orders

    places: dict[str, str] = {}
    new = read_orders(Path(args.file), places=places)
    service = open_service(args)
    try:
        with output.progress_bar("importing", enabled=True) as progress:
            count = service.add_orders(new, progress)
    except OrdersExist as exc:
        raise BadInput(
            f"{args.file}: {len(exc.ids)} order id(s) already exist; nothing imported"
            " (dibs never overwrites an order on import)",
            problems=[
                f"{places.get(oid, args.file)}: order {oid!r} already exists" for oid in exc.ids
            ],
        ) from exc
    print(f"imported {count} orders from {args.file}", file=sys.stderr)
    return 0


def cmd_orders_add(args: argparse.Namespace) -> int:
    from engine.io.imports import order_from_mapping, parse_line_spec

    lines = [parse_line_spec(spec) for spec in args.line]
    record: dict[str, Any] = {
        "id": args.id,
        "channel": args.channel,
        "lines": [{"sku": sku, "qty": qty} for sku, qty in lines],
        "warehouse": args.warehouse,
        "tags": args.tag or [],
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
        output.print_records(
            f"Orders ({len(rows)})",
            rows,
            [
                "id",
                "channel",
                "placed_at",
                "status",
                "allocation_status",
                "shipping_method",
                "country",
                "lines",
                "units",
            ],
        )
    return 0


def cmd_orders_show(args: argparse.Namespace) -> int:
    doc = open_service(args).order_document(args.id)
    if args.json:
        output.print_json(doc)
        return 0
    head = [
        (k, doc[k])
        for k in (
            "id",
            "channel",
            "status",
            "allocation_status",
            "placed_at",
            "shipping_method",
            "total",
            "warehouse",
        )
    ]
    ship_to = ", ".join(v for v in doc["ship_to"].values() if v)
    head += [("ship_to", ship_to), ("tags", ", ".join(doc["tags"]))]
    output.print_table(None, ["field", "value"], head, style_column="value")
    lines = [
        {**x, "warehouses": ", ".join(f"{wh}: {n}" for wh, n in x["warehouses"].items())}
        for x in doc["lines"]
    ]
    output.print_records("Lines", lines, ["sku", "qty", "reserved", "warehouses"])
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
    print(
        f"{original.id} keeps {original.unit_count} reserved units "
        f"({original.allocation_status}); {child.id} takes {child.unit_count} units",
        file=sys.stderr,
    )
    return 0


def add_commands(sub: Any) -> None:
    orders = sub.add_parser("orders", help="sales orders").add_subparsers(
        dest="orders_cmd", required=True, parser_class=Parser
    )
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
