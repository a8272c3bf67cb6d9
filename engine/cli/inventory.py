"""`dibs inventory …`: stock on hand per (sku, warehouse)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from pathlib import Path

from engine.cli import output
from engine.cli.common import Parser, note_unknown, open_service, whole_number
from engine.model import DEFAULT_WAREHOUSE


def cmd_inventory_change(args: argparse.Namespace) -> int:
    kind = {"set": "set", "adjust": "adjusted", "receive": "received"}[args.inventory_cmd]
    row = open_service(args).change_stock(args.sku, args.warehouse, args.qty, kind)
    if args.json:
        output.print_json(row)
    else:
        print(
            f"{row['sku']} @ {row['warehouse']}: on hand {row['on_hand']}, "
            f"allocated {row['allocated']}, available {row['available']}"
        )
    return 0


def cmd_inventory_import(args: argparse.Namespace) -> int:
    from engine.io.imports import read_inventory

    places: dict[str, str] = {}
    rows = read_inventory(Path(args.file), places)
    count = open_service(args).import_inventory(rows, places)
    print(f"set on hand for {count} SKU/warehouse rows from {args.file}", file=sys.stderr)
    return 0


def cmd_inventory_list(args: argparse.Namespace) -> int:
    service = open_service(args, read_only=True)
    rows = service.list_inventory(args.sku)
    if not rows and args.sku:  # as `orders list --sku` says it: a typo is not "no stock"
        note_unknown(service, "sku", args.sku)
    if args.json:
        output.print_json(rows)
    else:
        columns = ["sku", "warehouse", "on_hand", "allocated", "available"]
        if any(row.get("kit") for row in rows):  # kit rows: available kit units (SPEC §12)
            rows = [{**row, "kit": "kit" if row.get("kit") else ""} for row in rows]
            columns.append("kit")
        output.print_records("Inventory", rows, columns)
    return 0


def add_commands(parsers: Mapping[str, Parser]) -> None:
    inv = parsers["inventory"].add_subparsers(
        dest="inventory_cmd", required=True, parser_class=Parser
    )
    changes = {
        "set": ("QTY", "set on hand to QTY", "the new on hand"),
        "adjust": ("DELTA", "add a signed DELTA to on hand (a count correction)", "e.g. -2"),
        "receive": ("QTY", "add QTY received units to on hand", "a positive number"),
    }
    for name, (label, text, qty_help) in changes.items():
        p = inv.add_parser(name, help=text)
        p.add_argument("sku", help="the SKU")
        p.add_argument("qty", type=whole_number, metavar=label, help=qty_help)
        p.add_argument("--warehouse", default=DEFAULT_WAREHOUSE, help="default: %(default)s")
        p.add_argument("--json", action="store_true", help="the resulting stock row as JSON")
        p.set_defaults(handler=cmd_inventory_change)
    p = inv.add_parser("import", help="set on hand from a CSV: sku,on_hand[,warehouse]")
    p.add_argument("file", help="the CSV file")
    p.set_defaults(handler=cmd_inventory_import)
    p = inv.add_parser("list", help="stock rows: on hand, allocated, available")
    p.add_argument("--sku", help="only this SKU (all its warehouses)")
    p.add_argument("--json", action="store_true", help="the rows as a JSON list")
    p.set_defaults(handler=cmd_inventory_list)
