"""`dibs rules check|test|preview` and `dibs run`: the rule-file half of the command line.

Split from cli.py to keep each module readable; like cli.py, it is allowed to print, read the
environment and build engines (GUIDE: only the CLI and the scheduler do).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.cli import output
from engine.cli.common import Parser, check_tick, database_url, open_service, sqlite_path
from engine.errors import BadInput, OperationFailed, plural

if TYPE_CHECKING:
    from engine.run.deliveries import Tally
    from rules.errors import Diagnostic
    from rules.ruleset import RuleSet

log = logging.getLogger("dibs.run")


def load_or_fail(
    path: str, warn: Callable[[str], object] | None = None, test_orders: bool = False
) -> RuleSet:
    """The rule set of `path`; every error as file:line:column (exit 2). Warnings on stderr,
    or each given to `warn` (`dibs run` logs them, so JSON logs stay one object a line).
    `test_orders` (`rules check`, `rules test`): the orders of the file's tests must also be
    orders an import accepts."""
    from rules.loader import check_ruleset

    if Path(path).is_dir():
        raise BadInput(f"{path}: is a directory, not a rule file")
    if not Path(path).is_file():
        raise BadInput(f"{path}: no such rule file")
    ruleset, diagnostics = check_ruleset(path)
    errors = [d for d in diagnostics if d.severity == "error"]
    if test_orders and ruleset is not None and ruleset.tests and not errors:
        # Only for a file with tests: `rules check` of one without starts without engine.io.
        from engine.run.filechecks import invalid_test_orders

        errors = invalid_test_orders(ruleset)
    if ruleset is None or errors:
        raise BadInput(
            f"{path}: {plural(len(errors), 'error')}; the rule file was not loaded",
            problems=[str(d) for d in errors or diagnostics],
        )
    for warning in [*diagnostics, *secret_warnings(ruleset)]:
        if warn is None:
            print(str(warning), file=sys.stderr)
        else:
            warn(str(warning))
    return ruleset


def _warehouse_warnings(args: argparse.Namespace, ruleset: RuleSet) -> list[str]:
    """`allocate from [...]` naming a warehouse without any stock row (engine.run.filechecks).
    Only against a database that exists: `rules check` never creates one."""
    if not any(a.warehouses for r in ruleset.rules for a in r.actions):
        return []  # nothing to look up: no database opened, no engine.run imported
    url = database_url(args)
    if url.startswith("sqlite"):
        path = sqlite_path(url)
        if path is None or not path.is_file():
            return []
    from engine.run.filechecks import warehouse_warnings
    from engine.store import Store

    store = Store.open(url, migrate=False)
    try:
        with store.read() as conn:
            return [str(d) for d in warehouse_warnings(conn, ruleset)]
    finally:
        store.dispose()


def secret_warnings(ruleset: RuleSet) -> list[Diagnostic]:
    """A warning for each notify endpoint whose secret's variable is not set here and now."""
    from rules.notify import secret_warnings as of_environ

    return of_environ(ruleset, os.environ)


def cmd_rules_check(args: argparse.Namespace) -> int:
    ruleset = load_or_fail(args.file, test_orders=True)
    warnings = [str(d) for d in (*ruleset.warnings, *secret_warnings(ruleset))]
    for warning in _warehouse_warnings(args, ruleset):
        print(warning, file=sys.stderr)
        warnings.append(warning)
    active = len(ruleset.active)
    endpoints = f"{plural(len(ruleset.notify), 'notify endpoint')}, " if ruleset.notify else ""
    print(
        f"{args.file}: ok: {plural(len(ruleset.rules), 'rule')} ({active} enabled), "
        f"{plural(len(ruleset.tests), 'test')}, {endpoints}{plural(len(warnings), 'warning')}; "
        f"ruleset {ruleset.hash}"
    )
    return 0


def cmd_rules_test(args: argparse.Namespace) -> int:
    from engine.run.ruletests import run_tests

    ruleset = load_or_fail(args.file, test_orders=True)
    if not ruleset.tests:
        print(f"{args.file}: no tests to run", file=sys.stderr)
        if args.json:
            output.print_json([])  # still the one document --json promises
        return 0
    outcomes = run_tests(ruleset)
    failed = [o for o in outcomes if not o.passed]
    if args.json:
        output.print_json(
            [
                {"name": o.name, "line": o.line, "passed": o.passed, "failures": o.failures}
                for o in outcomes
            ]
        )
    else:
        for o in outcomes:
            mark = "PASS" if o.passed else "FAIL"
            print(f"{mark}  {o.name}")
            for failure in o.failures:
                print(f"      {args.file}:{o.line}: {failure}")
        print(f"{len(outcomes) - len(failed)} passed, {len(failed)} failed")
    if failed:
        raise OperationFailed(f"{len(failed)} of {len(outcomes)} rule tests failed")
    return 0


def _show_preview(doc: dict[str, Any]) -> None:
    """The summary, then only the orders the tick would change (status, reserved units or tags):
    matched orders it leaves as they are are counted, not listed (--json has every one)."""
    summary = doc["summary"]
    print(f"Preview of {doc['file']} (ruleset {doc['ruleset']}): nothing was written")
    print(
        f"  {summary['events']} pending events, schedules due: "
        f"{', '.join(summary['schedules']) or 'none'}; {summary['orders_matched']} orders "
        f"matched; {summary['status_changes']} would change status; "
        f"{summary['units_reserved']} units would be reserved"
    )
    rows = sorted(
        (o for o in doc["orders"] if o["changes"]),
        key=lambda o: (o["queue_position"] is None, o["queue_position"] or 0, o["id"]),
    )
    output.print_records(
        f"Orders that would change ({len(rows)})",
        [
            {
                **o,
                "rules": ", ".join(o["matched_rules"]),
                "queue": o["queue_position"],
                "reserved": f"{o['reserved_before']} -> {o['reserved_after']}",
                "tags": " ".join(
                    [*(f"+{t}" for t in o["tags_added"]), *(f"-{t}" for t in o["tags_removed"])]
                ),
            }
            for o in rows[:200]
        ],
        ["queue", "id", "rules", "before", "after", "reserved", "tags"],
        style_column="after",
    )
    if len(rows) > 200:
        print(f"  … and {len(rows) - 200} more orders that would change (use --json for all)")
    if summary["unchanged"]:
        print(
            f"  {summary['unchanged']} matched orders would stay as they are "
            "(not listed; --json has them)"
        )
    output.print_records(
        "Stock", doc["stock"], ["sku", "warehouse", "available_before", "available_after"]
    )


def cmd_rules_preview(args: argparse.Namespace) -> int:
    from engine.run.preview import diff, preview

    ruleset = load_or_fail(args.file)
    other = load_or_fail(args.against) if args.against else None
    service = open_service(args, read_only=True)
    result = preview(service, ruleset, all_open=args.all_open)
    doc = result.as_json()
    if other is not None:
        doc["diff"] = diff(result, preview(service, other, all_open=args.all_open))
    if args.json:
        output.print_json(doc)
        return 0
    _show_preview(doc)
    if other is not None:
        changes = doc["diff"]
        output.print_records(
            f"Outcome differs from {args.against} ({len(changes['differing'])} orders)",
            changes["differing"],
            ["id", "after", "after_other", "reserved", "reserved_other"],
            style_column="after",
        )
        victims = ", ".join(v["id"] for v in changes["victims"]) or "none"
        print(f"Victims (less stock under {args.file} than under {args.against}): {victims}")
    return 0


def _places(where: dict[str, int]) -> str:
    return ", ".join(f"{wh}: {n}" for wh, n in where.items())


def cmd_explain(args: argparse.Namespace) -> int:
    from engine.run.explain import explain

    rules_file = args.rules or os.environ.get("DIBS_RULES")
    ruleset = load_or_fail(rules_file) if rules_file else None
    tried = None if args.from_ is None else args.from_.split(",")
    doc = explain(open_service(args, read_only=True), args.id, ruleset, warehouses=tried)
    if args.json:
        output.print_json(doc)
        return 0
    print(f"{doc['id']}: {doc['allocation_status']} ({doc['status']}): {doc['summary']}")
    output.print_records(
        "Lines",
        [{**x, "reserved_in": _places(x["reserved_in"])} for x in doc["lines"]],
        ["line", "sku", "warehouse", "qty", "reserved", "reserved_in", "available", "shortfall"],
    )
    for line in doc["lines"]:
        if line.get("components"):
            output.print_records(
                f"Kit {line['sku']} @ {line['warehouse']}: components",
                line["components"],
                ["sku", "per_kit", "need", "available"],
            )
        if line.get("held_by"):
            output.print_records(
                f"Who holds {line.get('holder_sku', line['sku'])} @ {line['warehouse']} "
                "(coverage order)",
                [
                    {
                        **h,
                        "order": f"{h['order']} (this order)" if h["this_order"] else h["order"],
                        "covered": "covered" if h["covered"] else "not covered",
                    }
                    for h in line["held_by"]
                ],
                ["order", "qty", "reserved_at", "covered"],
            )
        for drop in line.get("cover_taken_by", []):
            print(
                f"  cover of {drop['sku']} @ {drop['warehouse']} taken by: {drop['change']} "
                f"({drop['delta']}) "
                f"at {drop['at']}"
            )
    for wh in doc["warehouses"]:
        lacks = ", ".join(
            f"{x['sku']} (needs {x['need']}, has {x['available']})" for x in wh["lacks"]
        )
        verdict = "can complete the order" if wh["complete"] else f"lacks {lacks}"
        print(f"  warehouse {wh['warehouse']}: {verdict}")
    for rule in doc.get("rules", []):
        mark = "matches" if rule["matches"] else "no match"
        why = f": {rule['reason']}" if rule["reason"] else ""
        print(
            f"  rule {rule['rule']} (priority {rule['priority']}, {rule['trigger']}): {mark}{why}"
        )
    if ruleset is None:
        print("  (pass --rules FILE or set DIBS_RULES to see which rules match this order)")
    return 0


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "message": record.getMessage(),
        }
        extra = getattr(record, "tick", None)
        if extra:
            doc["tick"] = extra
        return json.dumps(doc)


def _setup_logging(fmt: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(_JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    log.handlers[:] = [handler]
    log.setLevel(logging.INFO)
    log.propagate = False


def cmd_run(args: argparse.Namespace) -> int:
    from engine.run.deliveries import Deliveries, endpoints_of
    from engine.run.reload import RuleWatcher
    from engine.run.runner import Runner
    from engine.run.scheduler import Stopper, run_loop
    from engine.run.watch import ticker

    # Before the rule file and the database: a bad option is told at once, and changes
    # nothing (no new empty database).
    if not args.once:
        check_tick(args.tick)
    _setup_logging(args.log_format)
    ruleset = load_or_fail(args.file, log.warning if args.log_format == "json" else None)
    service = open_service(args)
    runner = Runner(service, ruleset)
    deliveries = Deliveries(service.store, service.clock, endpoints_of(ruleset, os.environ))
    if args.once:
        result = runner.tick()
        log.info(result.summary(), extra={"tick": result.as_json()})
        _log_deliveries(deliveries.run_once())
        return 0
    stopper = Stopper()
    stopper.install()
    watcher = RuleWatcher(args.file, ruleset, stopper.event)
    log.info(
        "dibs run: %s (ruleset %s, %s), a tick every %ss; Ctrl-C stops after the current tick",
        args.file,
        ruleset.hash,
        plural(len(ruleset.active), "rule"),
        args.tick,
    )

    def reloaded(fresh: RuleSet) -> None:
        deliveries.update(endpoints_of(fresh, os.environ))

    deliveries.start()  # its own threads: never inside a tick's transaction
    try:
        run_loop(ticker(runner, watcher, on_reload=reloaded), args.tick, service.clock, stopper)
    finally:
        deliveries.stop()
    log.info("dibs run: stopped")
    return 0


def _log_deliveries(tallies: dict[str, Tally]) -> None:
    for name, tally in sorted(tallies.items()):
        if tally.attempts or tally.stopped_early:
            note = "; stopped early: the endpoint does not answer" if tally.stopped_early else ""
            log.info(
                "notify %s: %d delivered, %d failed (will retry), %d dead%s",
                name,
                tally.delivered,
                tally.failed,
                tally.dead,
                note,
            )


def add_commands(parsers: Mapping[str, Parser]) -> None:
    """`rules …`, `explain` and `run`."""
    rules = parsers["rules"].add_subparsers(dest="rules_cmd", required=True, parser_class=Parser)
    p = rules.add_parser("check", help="validate; every problem as file:line:column")
    p.add_argument("file", help="the rule file (YAML)")
    p.set_defaults(handler=cmd_rules_check)
    p = rules.add_parser("test", help="run the file's tests")
    p.add_argument("file", help="the rule file (YAML)")
    p.add_argument("--json", action="store_true", help="one result per test as JSON")
    p.set_defaults(handler=cmd_rules_test)

    p = rules.add_parser("preview", help="dry run: what the rules would do now; writes nothing")
    p.add_argument("file", help="the rule file (YAML)")
    p.add_argument("--against", metavar="OTHER_FILE", help="diff with another rule file")
    p.add_argument(
        "--all-open", action="store_true", help="treat every open unallocated order as new"
    )
    p.add_argument("--json", action="store_true", help="the whole preview as JSON")
    p.set_defaults(handler=cmd_rules_preview)

    p = parsers["explain"]
    p.add_argument("id", help="the order id")
    p.add_argument("--rules", metavar="FILE", help="rule file to explain against ($DIBS_RULES)")
    p.add_argument(
        "--from", dest="from_", metavar="W1,W2", help="the warehouses to explain against"
    )
    p.add_argument("--json", action="store_true", help="the explanation as JSON")
    p.set_defaults(handler=cmd_explain)

    p = parsers["run"]
    p.add_argument("file", help="the rule file (YAML); re-read when it changes")
    p.add_argument("--once", action="store_true", help="one tick, then exit (for cron)")
    p.add_argument(
        "--tick", type=float, default=5.0, metavar="SECONDS", help="default: %(default)s"
    )
    p.add_argument(
        "--log-format", choices=["text", "json"], default="text", help="default: %(default)s"
    )
    p.set_defaults(handler=cmd_run)
