"""`dibs kits …`: kits (bundles) made of component SKUs (SPEC §12)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from engine.cli import output
from engine.cli.common import Parser, open_service


def _show(rows: list[dict[str, Any]]) -> None:
    output.print_records(
        f"Kits ({len(rows)})",
        [
            {
                **row,
                "components": ", ".join(f"{c['sku']} x{c['qty']}" for c in row["components"]),
                "warehouses": ", ".join(f"{w}: {n}" for w, n in row["warehouses"].items()),
            }
            for row in rows
        ],
        ["kit", "components", "available", "warehouses"],
    )


def cmd_kits_set(args: argparse.Namespace) -> int:
    from engine.io.imports import parse_component_spec

    parts = [parse_component_spec(spec) for spec in args.components]
    rows = open_service(args).set_kits({args.kit: parts})
    row = rows[0]
    made = ", ".join(f"{c['sku']} x{c['qty']}" for c in row["components"])
    print(f"kit {row['kit']}: {made}; {row['available']} available", file=sys.stderr)
    return 0


def cmd_kits_remove(args: argparse.Namespace) -> int:
    open_service(args).remove_kit(args.kit)
    print(f"removed kit {args.kit}; {args.kit} is a plain SKU again", file=sys.stderr)
    return 0


def cmd_kits_import(args: argparse.Namespace) -> int:
    from engine.io.imports import read_kits

    places: dict[str, str] = {}
    definitions = read_kits(Path(args.file), places)
    rows = open_service(args).set_kits(definitions, places)
    print(f"set {len(rows)} kits from {args.file}", file=sys.stderr)
    return 0


def cmd_kits_list(args: argparse.Namespace) -> int:
    rows = open_service(args, read_only=True).list_kits()
    if args.json:
        output.print_json(rows)
    else:
        _show(rows)
    return 0


def add_commands(parsers: Mapping[str, Parser]) -> None:
    kits = parsers["kits"].add_subparsers(dest="kits_cmd", required=True, parser_class=Parser)
    p = kits.add_parser("set", help="define or redefine a kit")
    p.add_argument("kit", metavar="KIT", help="the kit's SKU (it has no stock of its own)")
    p.add_argument(
        "components", nargs="+", metavar="COMPONENT:QTY", help="a component and its units per kit"
    )
    p.set_defaults(handler=cmd_kits_set)
    p = kits.add_parser("remove", help="remove a kit (not while orders hold stock for it)")
    p.add_argument("kit", metavar="KIT", help="the kit's SKU")
    p.set_defaults(handler=cmd_kits_remove)
    p = kits.add_parser("import", help="CSV: kit,component,qty (each kit's rows define it)")
    p.add_argument("file", help="CSV with the header kit,component,qty")
    p.set_defaults(handler=cmd_kits_import)
    p = kits.add_parser("list", help="kits, their components and the kit units available")
    p.add_argument("--json", action="store_true", help="the kits as JSON")
    p.set_defaults(handler=cmd_kits_list)
