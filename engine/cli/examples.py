"""The examples `dibs COMMAND --help` shows under the options (docs/cli.md has them too).

Kept in one table, applied to the parser tree by `engine.cli.main`, so a command group module
stays about its commands; tests/unit/cli/test_help.py checks every command has at least one.
"""

from __future__ import annotations

EXAMPLES: dict[str, tuple[str, ...]] = {
    "demo": ("dibs demo                                   # tour; keeps its database, says where",),
    "inventory set": (
        "dibs inventory set MUG-16OZ 12",
        "dibs inventory set MUG-16OZ 4 --warehouse east --json",
    ),
    "inventory adjust": (
        "dibs inventory adjust MUG-16OZ -2             # two broke",
        "dibs inventory adjust MUG-16OZ 5 --warehouse east",
    ),
    "inventory receive": (
        "dibs inventory receive MUG-16OZ 24            # waiting orders get it at the next tick",
        "dibs allocate --all                           # ... or allocate now",
    ),
    "inventory import": (
        "dibs inventory import examples/inventory.csv   # sku,on_hand[,warehouse]",
    ),
    "inventory list": (
        "dibs inventory list",
        "dibs inventory list --sku MUG-16OZ --json",
    ),
    "orders import": (
        "dibs orders import examples/orders.json",
        "dibs orders import export.csv                 # one row per order line",
    ),
    "orders add": (
        "dibs orders add WEB-1 --channel web --line MUG-16OZ:2",
        "dibs orders add WEB-2 --channel web --line MUG-16OZ:1 --line PUZZLE-1000:1 "
        "--country US --shipping-method overnight --tag gift",
    ),
    "orders list": (
        "dibs orders list                              # open orders",
        "dibs orders list --status could_not_allocate,overallocated",
        "dibs orders list --all --channel amazon --json",
        "dibs orders list --where 'total > 100 and ship_to.country == \"US\"' --tag vip",
    ),
    "orders show": ("dibs orders show SH-10003", "dibs orders show SH-10003 --json"),
    "orders edit": ("dibs orders edit WEB-1 --line MUG-16OZ:1 --line PUZZLE-1000:2",),
    "orders ship": (
        "dibs orders ship SH-10091 SH-10051",
        "dibs orders ship SH-10099 --force             # even if it takes others' stock",
    ),
    "orders cancel": ("dibs orders cancel WEB-1",),
    "orders dropship": ("dibs orders dropship SH-10120",),
    "orders split": ("dibs orders split SH-10042        # unreserved units move to SH-10042-1",),
    "allocate": (
        "dibs allocate --all --dry-run                 # the plan: which orders would change",
        "dibs allocate --all --where 'channel == \"amazon\"' --order-by 'total desc'",
        "dibs allocate SH-10003 SH-10004 --json",
    ),
    "deallocate": (
        "dibs deallocate SH-10003",
        "dibs deallocate --where 'tags contains \"fraud-review\"' --dry-run",
    ),
    "reallocate": ("dibs reallocate SH-10007                      # to the back of the queue",),
    "history": ("dibs history SH-10091", "dibs history SH-10091 --json"),
    "rules check": ("dibs rules check examples/rules.yaml",),
    "rules test": (
        "dibs rules test examples/rules.yaml",
        "dibs rules test examples/rules.yaml --json",
    ),
    "rules preview": (
        "dibs rules preview examples/rules.yaml",
        "dibs rules preview new.yaml --against examples/rules.yaml",
        "dibs rules preview examples/rules.yaml --all-open --json",
    ),
    "explain": (
        "dibs explain SH-10023 --rules examples/rules.yaml",
        "DIBS_RULES=examples/rules.yaml dibs explain SH-10023 --json",
    ),
    "run": (
        "dibs run examples/rules.yaml --once           # one tick (cron)",
        "dibs run examples/rules.yaml --tick 2 --log-format json",
    ),
    "orders tag": ("dibs orders tag SH-10023 SH-10024 fraud-review",),
    "orders untag": ("dibs orders untag SH-10023 fraud-review      # writes order.updated",),
    "kits set": ("dibs kits set GIFTBOX MUG-16OZ:1 TEA-SAMPLER:2",),
    "kits remove": ("dibs kits remove GIFTBOX        # refused while its lines hold stock",),
    "kits import": ("dibs kits import examples/warehouses/kits.csv",),
    "kits list": ("dibs kits list", "dibs kits list --json"),
    "events list": (
        "dibs events list --type allocation.changed --since 2026-12-01",
        "dibs events list --order SH-10023 --json",
    ),
    "events tail": ("dibs events tail --type allocation.changed   # JSON lines until Ctrl-C",),
    "deliveries list": ("dibs deliveries list --status failed", "dibs deliveries list --json"),
    "deliveries retry": ("dibs deliveries retry 41 42",),
    "serve": (
        "dibs serve                                   # 127.0.0.1:8080, the API and dashboard",
        "DIBS_API_TOKEN=... dibs serve --host 0.0.0.0 --rules examples/rules.yaml",
    ),
    "status": (
        "dibs status",
        "dibs status --rules examples/rules.yaml --json",
    ),
}


def epilog(command: str) -> str | None:
    """The `examples:` block of `dibs COMMAND --help`, or None when the table has none."""
    lines = EXAMPLES.get(command)
    if not lines:
        return None
    return "examples:\n" + "\n".join(f"  {line}" for line in lines)
