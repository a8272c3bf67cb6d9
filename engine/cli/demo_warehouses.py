"""`dibs demo`, the warehouses-and-kits step (SPEC §12): two warehouses and two kits from
`examples/warehouses/`, one tick of its rules, then where each order's units were reserved,
what the kits can still make, and why the order that got nothing got nothing."""

from __future__ import annotations

import tempfile
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from engine.cli import output
from engine.io.imports import read_inventory, read_kits, read_orders
from engine.run.explain import explain
from engine.run.runner import Runner
from engine.service import Service
from engine.store import Store
from rules.loader import load_ruleset


def warehouses_step(console: Console, examples: Path) -> None:
    """Run the tour of `examples/warehouses/` on its own throwaway database."""
    data = examples / "warehouses"
    with tempfile.TemporaryDirectory(prefix="dibs-demo-wh-") as tmp:
        store = Store.open(f"sqlite:///{Path(tmp) / 'demo.db'}")
        service = Service(store)
        service.import_inventory(read_inventory(data / "inventory.csv"))
        service.set_kits(read_kits(data / "kits.csv", {}))
        new = read_orders(data / "orders.json")
        service.add_orders(new)
        ruleset = load_ruleset(data / "rules.yaml")
        console.print(
            f"\n[bold]Two warehouses and two kits[/] ({escape(str(data))}): "
            f"{len(new)} orders, warehouses main and east\n"
            f"$ dibs run {escape(str(data / 'rules.yaml'))} --once"
        )
        # `tick [ded0e9…]`: a hash starting with a letter was read as a style and vanished
        console.print(Runner(service, ruleset).tick().summary(), markup=False)
        rows = []
        for o in new:
            doc = service.order_document(o.id)
            for line in doc["lines"]:
                where = ", ".join(f"{w}: {n}" for w, n in line["warehouses"].items())
                rows.append([o.id, doc["allocation_status"], line["sku"], line["qty"], where])
        output.print_table(
            "Where each line was reserved",
            ["order", "allocation_status", "sku", "qty", "reserved in"],
            rows,
            style_column="allocation_status",
        )
        kits = [
            [
                k["kit"],
                ", ".join(f"{c['sku']} x{c['qty']}" for c in k["components"]),
                k["available"],
            ]
            for k in service.list_kits()
        ]
        output.print_table("Kits still available", ["kit", "components", "available"], kits)
        for o in new:
            if service.get_order(o.id).allocation_status == "could_not_allocate":
                console.print(
                    f"$ dibs explain {o.id}\n{explain(service, o.id, ruleset)['summary']}",
                    markup=False,
                )
        store.dispose()
