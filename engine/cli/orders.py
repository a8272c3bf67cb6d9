"""`dibs orders …`: import, add, list, show, edit, ship, cancel, dropship, split."""

from __future__ import annotations

import argparse
import difflib
import sys
from pathlib import Path
from typing import Any

from engine.cli import output
from engine.cli.common import Parser, open_service
from engine.errors import BadInput, OperationFailed, OrdersExist
from engine.model import DEFAULT_WAREHOUSE, AllocationStatus, OrderStatus
from engine.service import Service
from engine.service.read import OrderQuery
from engine.service.shapes import order_json


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


def _statuses(text: str | None) -> list[str]:
    statuses = [s.strip() for s in (text or "").split(",") if s.strip()]
    known = [*(x.value for x in OrderStatus), *(x.value for x in AllocationStatus)]
    for status in statuses:
        if status not in known:
            close = difflib.get_close_matches(status, known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; one of {', '.join(known)}"
            raise BadInput(f"--status: unknown status {status!r}{hint}")
    return statuses


def _hint_unknown(service: Service, query: OrderQuery) -> None:
    """An empty list because of a typo must not look like "no orders": name the filter value
    no order has, with the closest known one (stderr; the list stays empty, exit 0)."""
    wanted = [("channel", query.channel), ("warehouse", query.warehouse)]
    wanted += [("tag", t) for t in query.tags] + [("sku", s) for s in query.skus]
    for kind, value in wanted:
        if value is None:
            continue
        known = service.known_values(kind)
        if value in known:
            continue
        close = difflib.get_close_matches(value, known, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        print(f"dibs: note: no order or stock has {kind} {value!r}{hint}", file=sys.stderr)


def cmd_orders_list(args: argparse.Namespace) -> int:
    from engine.store.where import where_clause

    query = OrderQuery(
        statuses=_statuses(args.status),
        include_closed=args.all,
        channel=args.channel,
        warehouse=args.warehouse,
        tags=args.tag or [],
        skus=args.sku or [],
        where=where_clause(args.where) if args.where else None,
    )
    service = open_service(args)
    if args.json:
        documents = service.order_documents(query)
        if not documents:
            _hint_unknown(service, query)
        output.print_json(documents)
        return 0
    rows = service.list_orders(query)
    if not rows:
        _hint_unknown(service, query)
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
    service = open_service(args)
    doc = order_json(service.get_order(args.id))
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
    output.print_records("Lines", doc["lines"], ["sku", "qty", "reserved"])
    return 0


def cmd_orders_edit(args: argparse.Namespace) -> int:
    from engine.io.imports import parse_line_spec

    order = open_service(args).edit(args.id, [parse_line_spec(s) for s in args.line])
    print(f"{order.id}: {order.allocation_status}", file=sys.stderr)
    return 0


def cmd_orders_finish(args: argparse.Namespace) -> int:
    service = open_service(args)
    if args.orders_cmd == "ship" and not args.force:
        victims = service.cover_lost_by_shipping(args.ids)
        if victims:
            shown = ", ".join(victims[:20]) + (
                f" and {len(victims) - 20} more" if len(victims) > 20 else ""
            )
            raise OperationFailed(
                f"shipping {', '.join(args.ids)} takes stock reserved by other orders: "
                f"{shown} would lose cover (become overallocated); nothing was shipped. "
                "Ship with --force to do it anyway, or allocate first"
            )
    done = service.finish(args.ids, args.orders_cmd)
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
    p = orders.add_parser("import", help="new orders from .json (array), .jsonl or .csv")
    p.add_argument("file", help="the file; .csv has one row per order line")
    p.set_defaults(handler=cmd_orders_import)
    p = orders.add_parser("add", help="create one order")
    p.add_argument("id", help="the order id (unique)")
    p.add_argument("--channel", required=True, help="the sales channel (required)")
    p.add_argument(
        "--line", action="append", required=True, metavar="SKU:QTY", help="a line; repeat"
    )
    p.add_argument("--placed-at", metavar="TIME", help="ISO-8601; default now; no zone = UTC")
    p.add_argument("--country", metavar="CC", help="ship-to country, two letters")
    p.add_argument("--state", help="ship-to state or region")
    p.add_argument("--shipping-method", metavar="M", help="e.g. ground, overnight")
    p.add_argument("--total", metavar="N", help="the order total, a decimal")
    p.add_argument("--tag", action="append", help="a tag; repeat for more")
    p.add_argument("--warehouse", default=DEFAULT_WAREHOUSE, help="default: %(default)s")
    p.set_defaults(handler=cmd_orders_add)
    _add_list_command(orders)
    p = orders.add_parser("show", help="one order, its lines and what is reserved")
    p.add_argument("id", help="the order id")
    p.add_argument("--json", action="store_true", help="the full order as JSON")
    p.set_defaults(handler=cmd_orders_show)
    p = orders.add_parser("edit", help="replace the order's lines")
    p.add_argument("id", help="the order id")
    p.add_argument(
        "--line", action="append", required=True, metavar="SKU:QTY", help="a line of the new set"
    )
    p.set_defaults(handler=cmd_orders_edit)
    closing = {
        "ship": "ship orders: on hand falls, reservations are released",
        "cancel": "cancel orders: reservations are released",
        "dropship": "mark orders fulfilled elsewhere: reservations are released",
    }
    for name, text in closing.items():
        p = orders.add_parser(name, help=text)
        p.add_argument("ids", nargs="+", metavar="ID", help="order ids; all or none are closed")
        if name == "ship":
            p.add_argument(
                "--force",
                action="store_true",
                help="ship even when it takes stock reserved by other orders",
            )
        p.set_defaults(handler=cmd_orders_finish)
    p = orders.add_parser("split", help="move unreserved units into a new order")
    p.add_argument("id", help="the order id")
    p.set_defaults(handler=cmd_orders_split)


def _add_list_command(orders: Any) -> None:
    p = orders.add_parser("list", help="list orders (open ones unless --all or --status says)")
    p.add_argument(
        "--status",
        metavar="S[,S…]",
        help="order and/or allocation statuses, comma-separated: any of each kind, both kinds",
    )
    p.add_argument("--all", action="store_true", help="closed orders too (shipped, cancelled, …)")
    p.add_argument("--channel", help="only this channel")
    p.add_argument("--warehouse", help="only orders of this warehouse")
    p.add_argument("--tag", action="append", help="only orders with this tag; repeat: all of them")
    p.add_argument("--sku", action="append", help="only orders with a line of SKU; repeat: all")
    p.add_argument("--where", metavar="CONDITION", help="a rule-language condition")
    p.add_argument("--json", action="store_true", help="the orders as `orders show --json` does")
    p.set_defaults(handler=cmd_orders_list)
