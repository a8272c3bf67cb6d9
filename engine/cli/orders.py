"""`dibs orders …`: import (and sync), add, list, show, edit, tag, untag, ship, cancel, dropship,
split."""

from __future__ import annotations

import argparse
import difflib
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.cli import output
from engine.cli.common import Parser, note_unknown, open_service
from engine.errors import BadInput, OperationFailed, OrdersExist, plural, quoted
from engine.io.formats import FORMATS
from engine.model import DEFAULT_WAREHOUSE, AllocationStatus, OrderStatus

if TYPE_CHECKING:
    from engine.io.channels import Skipped
    from engine.service import Service
    from engine.service.read import OrderQuery


def cmd_orders_import(args: argparse.Namespace) -> int:
    if args.sync:
        return _sync_file(args)
    from engine.io.incoming import IncomingSource
    from engine.service.sync import SyncReport

    # Streamed: the file is read and written chunk by chunk in one transaction (nothing is
    # written when it has any problem), so a big file never stands in memory at once.
    source = IncomingSource(Path(args.file), args.format, args.channel)
    _report_skipped(source.skipped)
    service = open_service(args)
    with output.progress_bar("importing", not args.json) as progress:
        try:
            created = service.import_file(source, progress)
        except OrdersExist as exc:
            raise _already_exist(args.file, exc.ids, exc.places) from exc
    if args.json:
        output.print_json(SyncReport(created=created).as_json())
    else:
        print(f"imported {plural(len(created), 'order')} from {args.file}", file=sys.stderr)
    return 0


def _sync_file(args: argparse.Namespace) -> int:
    from engine.io.incoming import read_incoming

    read = read_incoming(Path(args.file), args.format, args.channel)
    _report_skipped(read.skipped)
    service = open_service(args)
    with output.progress_bar("syncing", not args.json) as progress:
        report = service.sync_orders(read.orders, progress=progress)
    if args.json:
        output.print_json(report.as_json())
    else:
        counts = ", ".join(f"{n} {name}" for name, n in report.counts().items())
        print(f"synced {plural(len(read.orders), 'order')} from {args.file}: {counts}")
        for conflict in report.conflicts:
            print(f"conflict: order {conflict['id']!r}: {conflict['reason']}")
    return 0


def _report_skipped(skipped: Sequence[Skipped]) -> None:
    """Orders with nothing to ship are not errors; say how many, and the first few."""
    for item in skipped[:5]:
        print(f"skipped {item}", file=sys.stderr)
    if len(skipped) > 5:
        print(f"skipped {len(skipped) - 5} more orders with nothing to ship", file=sys.stderr)


def _already_exist(name: str, ids: Sequence[str], places: dict[str, str]) -> BadInput:
    """A count and the first ten, not one line per known order: an overlapping daily export
    can hold hundreds."""
    shown = [f"{places.get(oid, name)}: order {oid!r} already exists" for oid in ids[:10]]
    if len(ids) > 10:
        shown.append(f"... and {len(ids) - 10} more")
    return BadInput(
        f"{name}: {len(ids)} order id(s) already exist; nothing imported (dibs never overwrites "
        "an order on a plain import: use --sync to update known orders and create the rest)",
        problems=shown,
    )


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


#: Order statuses of closed orders, and the allocation statuses none of them can have.
_CLOSED = {x.value for x in OrderStatus} - {OrderStatus.AWAITING_FULFILLMENT.value}
_HELD = {x.value for x in AllocationStatus} - {AllocationStatus.UNALLOCATED.value}


def _statuses(text: str | None) -> list[str]:
    statuses = [s.strip() for s in (text or "").split(",") if s.strip()]
    known = [*(x.value for x in OrderStatus), *(x.value for x in AllocationStatus)]
    for status in statuses:
        if status not in known:
            close = difflib.get_close_matches(status, known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; one of {', '.join(known)}"
            raise BadInput(f"--status: unknown status {quoted(status)}{hint}")
    return statuses


def _hint_unknown(service: Service, query: OrderQuery) -> None:
    """An empty list because of a typo must not look like "no orders": name the filter value
    no order has, with the closest known one (stderr; the list stays empty, exit 0). So is a
    closed status ANDed with an allocation status no closed order has (`shipped,allocated`)."""
    closed = [s for s in query.statuses if s in _CLOSED]
    held = [s for s in query.statuses if s in _HELD]
    if closed and held:
        print(
            f"dibs: note: {closed[0]} orders are unallocated (they hold no stock), so "
            f"--status {closed[0]},{held[0]} matches none: both kinds must hold",
            file=sys.stderr,
        )
    wanted = [("channel", query.channel), ("warehouse", query.warehouse)]
    wanted += [("tag", t) for t in query.tags] + [("sku", s) for s in query.skus]
    for kind, value in wanted:
        if value is not None:
            note_unknown(service, kind, value)


def cmd_orders_list(args: argparse.Namespace) -> int:
    from engine.service.read import OrderQuery
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
    service = open_service(args, read_only=True)
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
    doc = open_service(args, read_only=True).order_document(args.id)
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


#: `dibs orders edit` options -> the field each one sets (validated by `fields.edit_value`).
EDIT_OPTIONS = {
    "shipping_method": "shipping_method",
    "country": "ship_to.country",
    "state": "ship_to.state",
    "city": "ship_to.city",
    "postal_code": "ship_to.postal_code",
    "warehouse": "warehouse",
    "total": "total",
}


def cmd_orders_edit(args: argparse.Namespace) -> int:
    from engine.io.fields import attribute_pair, edit_value
    from engine.io.imports import parse_line_spec
    from engine.service.edits import FieldChanges

    values: dict[str, Any] = {}
    attributes: dict[str, str | None] = {}
    for dest, field_name in EDIT_OPTIONS.items():
        raw = getattr(args, dest)
        if raw is not None:
            option = "--" + dest.replace("_", "-")
            values[field_name] = _checked(option, edit_value, field_name, raw)
    for spec in args.attr or []:
        key, value = _checked("--attr", attribute_pair, spec)
        attributes[key] = value
    lines = None if args.line is None else [parse_line_spec(spec) for spec in args.line]
    changes = FieldChanges(values, attributes, lines)
    if not changes:
        raise BadInput(f"orders edit {args.id}: nothing to change (give --line or a field option)")
    order, changed = open_service(args).update_order(args.id, changes.apply)
    if changed:
        print(f"{order.id}: updated ({order.allocation_status})", file=sys.stderr)
    else:
        print(f"{order.id}: nothing changed", file=sys.stderr)
    return 0


def _checked(option: str, check: Any, *values: Any) -> Any:
    """`check(*values)`, or BadInput naming the option and the value's problem."""
    from engine.io.fields import Invalid

    try:
        return check(*values)
    except Invalid as exc:
        raise BadInput(f"{option} {values[-1]!r}: {exc}") from None


def cmd_orders_tag(args: argparse.Namespace) -> int:
    from engine.io.fields import tag_text

    label = _checked("TAG", tag_text, args.tag)
    add = args.orders_cmd == "tag"
    changed = open_service(args).tag(args.ids, label, add=add)
    verb = "tagged" if add else "untagged"
    left = len(dict.fromkeys(args.ids)) - len(changed)
    done = f"{verb} {', '.join(changed)} ({label!r})" if changed else f"nothing {verb}"
    same = f"; {left} already {'had' if add else 'lacked'} it" if left else ""
    print(done + same, file=sys.stderr)
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


def add_commands(parsers: Mapping[str, Parser]) -> None:
    orders = parsers["orders"].add_subparsers(dest="orders_cmd", required=True, parser_class=Parser)
    p = orders.add_parser("import", help="new orders, or --sync with a channel's export")
    p.add_argument("file", help="dibs .json/.jsonl/.csv, a Shopify export or Shopify/Woo JSON")
    p.add_argument("--format", choices=FORMATS, help="default: detected from the file")
    p.add_argument("--sync", action="store_true", help="update/close known ids as the file says")
    p.add_argument("--channel", help="the orders' channel (default: the format's own)")
    p.add_argument("--json", action="store_true", help="the report as JSON")
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
    p = orders.add_parser("edit", help="change an open order's lines and fields")
    p.add_argument("id", help="the order id")
    p.add_argument("--line", action="append", metavar="SKU:QTY", help="the new full set; repeat")
    for dest in EDIT_OPTIONS:
        p.add_argument("--" + dest.replace("_", "-"), dest=dest, help=f"the new {dest}")
    p.add_argument("--attr", action="append", metavar="KEY=VALUE", help="KEY= removes it")
    p.set_defaults(handler=cmd_orders_edit)
    for name in ("tag", "untag"):
        p = orders.add_parser(name, help=f"{name} several orders (writes order.updated)")
        p.add_argument("ids", nargs="+", metavar="ID", help="order ids; all or none change")
        p.add_argument("tag", metavar="TAG", help="the tag")
        p.set_defaults(handler=cmd_orders_tag)
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
