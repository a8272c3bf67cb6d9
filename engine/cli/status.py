"""`dibs status`: pending events, the last tick, the schedules due next, and what needs a person
(overallocated orders, SKUs short), on one screen."""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from typing import Any

from engine.cli import output
from engine.cli.common import Parser, open_service


def cmd_status(args: argparse.Namespace) -> int:
    from engine.cli.rules import load_or_fail
    from engine.run.status import status

    rules_file = args.rules or os.environ.get("DIBS_RULES")
    ruleset = load_or_fail(rules_file) if rules_file else None
    doc = status(open_service(args, read_only=True), ruleset)
    if args.json:
        output.print_json(doc)
        return 0
    _show(doc)
    return 0


def _show(doc: dict[str, Any]) -> None:
    pending = doc["pending_events"]
    kinds = ", ".join(f"{n} {kind}" for kind, n in pending["by_type"].items())
    print(
        f"pending events: {pending['count']}"
        + (f" ({kinds}; oldest {pending['oldest']})" if pending["count"] else "")
    )
    print(f"last tick: {doc['last_tick'] or 'never (no event processed, no schedule run)'}")
    if "schedules" not in doc:
        print("schedules: pass --rules FILE (or set DIBS_RULES) to see when they are due")
    elif not doc["schedules"]:
        print("schedules: the rule file has none")
    else:
        for s in doc["schedules"]:
            due = "due now" if s["due_now"] else f"next {s['next_due'] or 'never'}"
            print(f"schedule {s['rule']}: {due} (last run {s['last_run'] or 'never'})")
    _show_deliveries(doc["deliveries"])
    counts = ", ".join(f"{n} {status}" for status, n in doc["open_orders"].items())
    print(f"open orders: {sum(doc['open_orders'].values())}" + (f" ({counts})" if counts else ""))
    over = doc["overallocated"]
    if over["count"]:
        more = (
            f" and {over['count'] - len(over['first'])} more"
            if over["count"] > len(over["first"])
            else ""
        )
        print(f"overallocated: {over['count']}: {', '.join(over['first'])}{more} (dibs explain ID)")
    else:
        print("overallocated: none")
    if doc["short"]:
        output.print_records(
            "Stock short of what open orders want",
            doc["short"],
            ["sku", "warehouse", "on_hand", "allocated", "available", "waiting", "short"],
        )
    else:
        print("stock short: none")


def _show_deliveries(rows: list[dict[str, Any]]) -> None:
    if not rows:
        print("deliveries: none pending, failed or dead")
    for row in rows:
        line = (
            f"deliveries to {row['endpoint']}: {row['pending']} pending, "
            f"{row['failed']} failed, {row['dead']} dead"
        )
        failure = row["last_failure"]
        if failure is not None:
            line += f"; last failure {failure['at'] or '(time not recorded)'}: {failure['error']}"
        print(line)


def add_commands(parsers: Mapping[str, Parser]) -> None:
    p = parsers["status"]
    p.add_argument("--rules", metavar="FILE", help="the rule file, for its schedules ($DIBS_RULES)")
    p.add_argument("--json", action="store_true", help="the status as one JSON document")
    p.set_defaults(handler=cmd_status)
