"""`dibs demo`: a self-contained tour on a throwaway embedded database.

It seeds a SQLite file of its own (in a new temporary folder, kept afterwards so the commands
it suggests work on it) from the example data in `examples/` (the orders arrive as new orders),
shows the example rule file, runs one tick exactly as `dibs run --once` would, and shows what each
rule did, how many orders got stock, and where stock ran short.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from engine.cli import output
from engine.cli.demo_warehouses import warehouses_step
from engine.errors import BadInput
from engine.io.imports import read_inventory, read_orders
from engine.run.runner import Runner, TickResult
from engine.service import Service
from engine.service.read import OrderQuery
from engine.store import Store
from rules.loader import load_ruleset
from rules.ruleset import RuleSet


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
    home = Path(tempfile.mkdtemp(prefix="dibs-demo-"))
    db = home / "demo.db"
    store = Store.open(f"sqlite:///{db}")
    try:
        service = Service(store)
        ruleset, result, before = _seed_and_tick(console, service, data, db)
        _show_outcome(service, ruleset, result, before)
        waiting = service.list_orders(OrderQuery(["could_not_allocate", "partially_allocated"]))
        output.print_records(
            f"Orders still waiting for stock ({len(waiting)}, first 10)",
            waiting[:10],
            ["id", "channel", "placed_at", "allocation_status", "shipping_method", "units"],
        )
    finally:
        store.dispose()
    warehouses_step(console, data)
    example = waiting[0]["id"] if waiting else "ORDER"
    url = f"sqlite:///{db}"
    console.print(
        f"\nThe demo database is kept in {db} (delete the folder when done). Try, on it:\n"
        f"  dibs --db {url} explain {example} --rules {data / 'rules.yaml'}\n"
        f"  dibs --db {url} orders list --status could_not_allocate\n"
        f"  dibs --db {url} status --rules {data / 'rules.yaml'}\n"
        f"  dibs --db {url} rules preview {data / 'rules.yaml'}",
        soft_wrap=True,
        markup=False,
    )
    return 0


def _seed_and_tick(
    console: Console, service: Service, data: Path, db: Path
) -> tuple[RuleSet, TickResult, dict[tuple[str, str], int]]:
    stock = read_inventory(data / "inventory.csv")
    new = read_orders(data / "orders.json")
    ruleset = load_ruleset(data / "rules.yaml")
    service.import_inventory(stock)
    service.add_orders(new)
    console.print(
        f"[bold]dibs demo[/]: {len(new)} new orders from {escape(str(data / 'orders.json'))}, "
        f"{len(stock)} stock rows from {escape(str(data / 'inventory.csv'))}, in a database "
        f"of its own: {escape(str(db))}\n"
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
    before = {(r["sku"], r["warehouse"]): r["available"] for r in service.list_inventory()}
    result = Runner(service, ruleset, record=True).tick()
    console.print(result.summary(), markup=False)  # `tick [ab12…]` is a hash, not a style
    return ruleset, result, before


def _show_outcome(
    service: Service, ruleset: RuleSet, result: TickResult, before: dict[tuple[str, str], int]
) -> None:
    output.print_table(
        "What each rule did (priority order; the first matching rule that allocates decides "
        "an order's place, so each order is decided once)",
        ["priority", "rule", "matched", "decided", "allocated", "partially", "could not", "also"],
        per_rule(ruleset, result),
    )
    counts = Counter(o["allocation_status"] for o in service.list_orders())
    output.print_table(
        "Allocation status",
        ["status", "orders"],
        sorted(counts.items(), key=lambda kv: -kv[1]),
        style_column="status",
    )
    rows = service.list_inventory()
    ran_out = [r for r in rows if r["available"] <= 0 < before.get((r["sku"], r["warehouse"]), 0)]
    output.print_records(
        "Stock that ran out in this tick",
        ran_out,
        ["sku", "warehouse", "on_hand", "allocated", "available"],
    )
    never = [
        f"{r['sku']} @ {r['warehouse']}" for r in rows if r["on_hand"] <= 0 and not r["allocated"]
    ]
    if never:
        print(f"No stock from the start: {', '.join(never)} (its orders wait for a delivery)")


def per_rule(ruleset: RuleSet, result: TickResult) -> list[list[object]]:
    """Per rule, in priority order (then file order): the orders it applied to; the orders whose
    allocation it decided (it was their first matching rule with an allocation action), split
    by outcome so the three add up to `decided`; and its other actions (tag "held" ×13)."""
    after = {r["id"]: r["after"] for r in result.report.results}
    decided: dict[str, Counter[str]] = {}
    also: dict[str, Counter[str]] = {}
    if result.plan is not None:
        for request in result.plan.allocation_queue:
            decided.setdefault(request.rule, Counter())[after.get(request.order_id, "")] += 1
        for plan in result.plan.orders.values():
            for name, action in plan.actions:
                if action.kind not in ("allocate", "reallocate"):
                    label = f'{action.kind} "{action.tag}"' if action.tag else str(action.kind)
                    also.setdefault(name, Counter())[label] += 1
    matches = result.matches
    rows: list[list[object]] = []
    for rule in ruleset.active:  # application order: priority, then file order
        if rule.name not in matches:
            continue
        tally = decided.get(rule.name, Counter())
        rows.append(
            [
                rule.priority,
                rule.name,
                matches[rule.name],
                sum(tally.values()),
                tally["allocated"],
                tally["partially_allocated"],
                tally["could_not_allocate"],
                ", ".join(f"{k} ×{n}" for k, n in also.get(rule.name, Counter()).items()),
            ]
        )
    return rows
