"""`dibs demo`: a self-contained tour on a throwaway embedded database.

It seeds a temporary SQLite file from the example data in `examples/` (the orders arrive as new
orders), shows the example rule file, runs one tick exactly as `dibs run --once` would, and shows
what each rule did, how many orders got stock, and where stock ran short.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from pathlib import Path

from rich.console import Console

from engine.cli import output
from engine.cli.demo_warehouses import warehouses_step
from engine.errors import BadInput
from engine.io.imports import read_inventory, read_orders
from engine.run.runner import Runner, TickResult
from engine.service import Service
from engine.store import Store
from rules.loader import load_ruleset


def examples_dir() -> Path:
    """The examples/ folder next to the installed packages (dibs is installed from a checkout)."""
    here = Path(__file__).resolve().parents[2] / "examples"
    if not (here / "orders.json").is_file():
        raise BadInput(
            f"the demo needs the example data, looked for it in {here}; "
            "install dibs from a checkout (pip install -e .)"
        )
    return here


def run_demo(console: Console) -> int:
    data = examples_dir()
    with tempfile.TemporaryDirectory(prefix="dibs-demo-") as tmp:
        store = Store.open(f"sqlite:///{Path(tmp) / 'demo.db'}")
        service = Service(store)
        stock = read_inventory(data / "inventory.csv")
        new = read_orders(data / "orders.json")
        ruleset = load_ruleset(data / "rules.yaml")
        service.import_inventory(stock)
        service.add_orders(new)
        console.print(
            f"[bold]dibs demo[/]: {len(new)} new orders from {data / 'orders.json'}, "
            f"{len(stock)} stock rows from {data / 'inventory.csv'}, "
            f"on a throwaway database in {tmp}\n"
        )
        output.print_table(
            f"The rules ({data / 'rules.yaml'}, ruleset {ruleset.hash})",
            ["priority", "name", "rule"],
            [[r.priority, r.name, " ".join(r.text.split())] for r in ruleset.active],
        )
        console.print(
            "\n$ dibs run examples/rules.yaml --once   [dim]# one tick: every pending "
            "event, every due schedule[/]"
        )
        result = Runner(service, ruleset).tick()
        console.print(result.summary())
        output.print_table(
            "What each rule did",
            ["rule", "orders matched", "allocated", "partially", "could not"],
            _per_rule(result),
        )
        counts = Counter(o["allocation_status"] for o in service.list_orders())
        output.print_table(
            "Allocation status",
            ["status", "orders"],
            sorted(counts.items(), key=lambda kv: -kv[1]),
            style_column="status",
        )
        short = [r for r in service.list_inventory() if r["available"] <= 0]
        output.print_records(
            "Stock that ran out", short, ["sku", "warehouse", "on_hand", "allocated", "available"]
        )
        waiting = service.list_orders(["could_not_allocate", "partially_allocated"])
        output.print_records(
            f"Orders still waiting for stock ({len(waiting)}, first 10)",
            waiting[:10],
            ["id", "channel", "placed_at", "allocation_status", "shipping_method", "units"],
        )
        store.dispose()
    warehouses_step(console, data)
    console.print(
        "\nNext: [bold]dibs rules preview examples/rules.yaml[/] on your own data, "
        "[bold]dibs explain ORDER --rules examples/rules.yaml[/] for any order."
    )
    return 0


def _per_rule(result: TickResult) -> list[list[object]]:
    """Per rule: orders it applied to, and the outcome of the orders whose place it decided."""
    decided: dict[str, Counter[str]] = {}
    after = {r["id"]: r["after"] for r in result.report.results}
    if result.plan is not None:
        for request in result.plan.allocation_queue:
            decided.setdefault(request.rule, Counter())[after.get(request.order_id, "")] += 1
    rows: list[list[object]] = []
    for rule, matched in result.matches.items():
        tally = decided.get(rule, Counter())
        rows.append(
            [
                rule,
                matched,
                tally["allocated"],
                tally["partially_allocated"],
                tally["could_not_allocate"],
            ]
        )
    return rows
