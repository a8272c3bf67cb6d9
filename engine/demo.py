"""`dibs demo`: a self-contained tour on a throwaway embedded database.

It seeds a temporary SQLite file from the example data shipped in `examples/`, allocates every
open order FIFO, and shows the outcome: how many orders got stock, and where stock ran short.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from pathlib import Path

from rich.console import Console

from engine import output
from engine.errors import BadInput
from engine.imports import read_inventory, read_orders
from engine.service import Service
from engine.store import Store


def examples_dir() -> Path:
    """The examples/ folder next to the installed packages (dibs is installed from a checkout)."""
    here = Path(__file__).resolve().parent.parent / "examples"
    if not (here / "orders.json").is_file():
        raise BadInput(f"the demo needs the example data, looked for it in {here}; "
                       "install dibs from a checkout (pip install -e .)")
    return here


def run_demo(console: Console) -> int:
    data = examples_dir()
    with tempfile.TemporaryDirectory(prefix="dibs-demo-") as tmp:
        store = Store.open(f"sqlite:///{Path(tmp) / 'demo.db'}")
        service = Service(store)
        stock = read_inventory(data / "inventory.csv")
        new = read_orders(data / "orders.json")
        service.import_inventory(stock)
        service.add_orders(new)
        console.print(f"[bold]dibs demo[/]: {len(new)} orders from {data / 'orders.json'}, "
                      f"{len(stock)} stock rows from {data / 'inventory.csv'}, "
                      f"on a throwaway database in {tmp}\n")
        console.print("$ dibs allocate --all        [dim]# FIFO: oldest order first[/]")
        report = service.allocate()
        counts = Counter(r["after"] for r in report.results)
        output.print_table("Allocation status", ["status", "orders"],
                           sorted(counts.items(), key=lambda kv: -kv[1]), style_column="status")
        short = [r for r in service.list_inventory() if r["available"] <= 0]
        output.print_records("Stock that ran out", short,
                             ["sku", "warehouse", "on_hand", "allocated", "available"])
        waiting = [o for o in service.list_orders(["could_not_allocate", "partially_allocated"])]
        output.print_records(f"Orders still waiting for stock ({len(waiting)}, first 10)",
                             waiting[:10], ["id", "channel", "placed_at", "allocation_status",
                                            "shipping_method", "units"])
        store.dispose()
    console.print("\nNext: [bold]dibs --db sqlite:///shop.db orders import examples/orders.json"
                  "[/], then [bold]dibs allocate --all --dry-run[/].")
    return 0
