"""The checks of a rule file's sections: the schema, the rules, the timezone and the tests."""

from __future__ import annotations

import difflib
import itertools
import zoneinfo
from typing import Any, cast

import yaml

from dsl.compile import compile_condition
from dsl.errors import DslError, shorten
from dsl.parser import parse_rule
from dsl.syntax import CronTrigger, Rule
from dsl.types import check_rule, datetime_literal_problem
from rules.cron import CronError, parse_cron
from rules.filecheck import FileCheck
from rules.positions import (
    known,
    line_column,
    schema_hint,
    schema_message,
    str_path,
    timezones,
    value_offsets,
    where,
)
from rules.ruleset import CompiledRule, RuleTest
from rules.steps import check_expect, check_steps, check_unique_ids, order_places
from rules.vocabulary import ORDER_VOCABULARY
from rules.yaml_read import (
    CRON_HINT,
    MAX_RULES,
    MAX_SCHEMA_ERRORS,
    Path_,
    validator,
)


def check_schema(check: FileCheck, data: Any) -> None:
    errors = validator().iter_errors(data)
    for count, err in enumerate(errors):
        if count == MAX_SCHEMA_ERRORS:
            check.truncated = True
            break
        path = tuple(err.absolute_path)
        if err.validator == "additionalProperties" and isinstance(err.instance, dict):
            allowed = set(cast(dict[str, Any], err.schema).get("properties", {}))
            for key in err.instance:
                if key in allowed:
                    continue
                node = check.key_nodes.get(str_path((*path, key)))
                line, column = check.at(node) if node else check.pos(path)
                close = difflib.get_close_matches(str(key)[:100], sorted(allowed), n=1)
                check.error(
                    line,
                    column,
                    f"unknown key `{shorten(key)}`" + where(path),
                    f"did you mean `{close[0]}`?" if close else known(allowed),
                )
            continue
        line, column = check.pos(path)
        check.error(line, column, schema_message(err, path), schema_hint(err))


def check_rules(check: FileCheck, data: Any) -> list[CompiledRule]:
    compiled: list[CompiledRule] = []
    items = data.get("rules") if isinstance(data, dict) else None
    if not isinstance(items, list):
        return compiled
    if len(items) > MAX_RULES:
        line, column = check.pos(("rules",))
        check.error(
            line,
            column,
            f"the file has {len(items):,} rules; at most {MAX_RULES:,}",
            "split it, or merge rules that do the same with `in [...]`",
        )
        return compiled
    names: dict[str, int] = {}
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            continue
        name = item.get("name")
        if isinstance(name, str):
            if name in names:
                line, column = check.pos(("rules", index, "name"))
                check.error(
                    line,
                    column,
                    f"duplicate rule name `{shorten(name)}` (first at line {names[name]})",
                    "rule names must be unique in a file",
                )
            else:
                names[name] = check.pos(("rules", index, "name"))[0]
        text = item.get("rule")
        if not isinstance(text, str):
            continue
        rule = check_rule_text(check, text, ("rules", index, "rule"))
        if rule is None or not isinstance(name, str):
            continue
        priority = item.get("priority", 0)
        line, column = check.pos(("rules", index, "rule"))
        node = check.node_at(("rules", index, "rule"))
        places = tuple(
            translate(check, node, *at) for a in rule.actions for at in a.warehouse_places
        )
        compiled.append(
            CompiledRule(
                name=name,
                priority=priority if isinstance(priority, int) else 0,
                index=index,
                text=text,
                syntax=rule,
                predicate=compile_condition(rule.condition, ORDER_VOCABULARY),
                description=str(item.get("description", "")),
                enabled=item.get("enabled", True) is not False,
                line=line,
                column=column,
                warehouse_places=places,
            )
        )
    return compiled


def check_rule_text(check: FileCheck, text: str, path: Path_) -> Rule | None:
    node = check.node_at(path)
    try:
        rule = parse_rule(text)
    except DslError as exc:
        dsl_error(check, node, exc)
        return None
    errors: list[DslError] = list(check_rule(rule, ORDER_VOCABULARY))
    trigger = rule.trigger
    if isinstance(trigger, CronTrigger):
        try:
            parse_cron(trigger.expr)
        except CronError as exc:
            errors.append(
                DslError(
                    f"invalid cron expression: {shorten(exc, 200)}",
                    line=trigger.expr_line,
                    column=trigger.expr_column,
                    text=trigger.expr,
                    hint=CRON_HINT,
                )
            )
    for err in errors:
        dsl_error(check, node, err)
    return None if errors else rule


def dsl_error(check: FileCheck, node: yaml.Node, exc: DslError) -> None:
    line, column = translate(check, node, exc.line, exc.column)
    check.error(line, column, exc.message, exc.hint)


def translate(check: FileCheck, node: yaml.Node, line: int, column: int) -> tuple[int, int]:
    """A (line, column) of a scalar's value -> (line, column) in the file."""
    value = str(node.value)
    lines = value.split("\n")
    index = sum(len(text) + 1 for text in lines[: line - 1]) + column - 1
    # Only the offsets up to the error are needed (the value may be large).
    offsets = list(itertools.islice(value_offsets(check.text, node), max(index, 0) + 1))
    if not offsets:
        return check.at(node)
    if index >= len(offsets):
        source_index = offsets[-1] + 1 + (index - len(offsets))
    else:
        source_index = offsets[max(index, 0)]
    return line_column(check.text, source_index)


def check_timezone(check: FileCheck, data: Any) -> zoneinfo.ZoneInfo | None:
    name = data.get("timezone", "UTC") if isinstance(data, dict) else "UTC"
    if not isinstance(name, str):
        return None  # the schema reported it
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        line, column = check.pos(("timezone",))
        close = difflib.get_close_matches(name[:100], sorted(timezones()), n=1)
        check.error(
            line,
            column,
            f"unknown timezone `{shorten(name)}`",
            f"did you mean `{close[0]}`?" if close else "use an IANA name like Europe/Berlin",
        )
        return None


def check_tests(check: FileCheck, data: Any) -> list[RuleTest]:
    items = data.get("tests") if isinstance(data, dict) else None
    tests: list[RuleTest] = []
    if not isinstance(items, list):
        return tests
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            continue
        listed = item.get("orders")
        orders = [o for o in listed if isinstance(o, dict)] if isinstance(listed, list) else []
        # Ids that are not strings (`id: {x: 1}`) are schema errors, and unhashable.
        ids: dict[str, int] = {}
        check_unique_ids(check, orders, ("tests", i, "orders"), ids)
        for j, order in enumerate(orders):
            placed = order.get("placed_at")
            problem = datetime_literal_problem(placed) if isinstance(placed, str) else None
            if problem is not None:
                line, column = check.pos(("tests", i, "orders", j, "placed_at"))
                check.error(
                    line,
                    column,
                    f"`{shorten(placed)}` {problem}",
                    'write it like "2026-01-31T09:00:00Z"',
                )
        steps = check_steps(check, item.get("steps"), ("tests", i, "steps"), ids)
        expect = check_expect(check, item.get("expect"), ("tests", i, "expect"), ids)
        inventory = item.get("inventory")
        kits = _kits_of(item.get("kits"))
        tests.append(
            RuleTest(
                name=str(item.get("name", "")),
                inventory=inventory if isinstance(inventory, dict) else {},
                orders=tuple(orders),
                expect=expect,
                line=check.pos(("tests", i))[0],
                steps=steps,
                kits=kits,
                kit_lines={kit: check.pos(("tests", i, "kits", kit))[0] for kit in kits},
                order_lines=tuple(
                    check.pos(("tests", i, "orders", j))[0] for j in range(len(orders))
                ),
                order_places=order_places(check, orders, ("tests", i, "orders")),
            )
        )
    return tests


def _kits_of(raw: Any) -> dict[str, tuple[tuple[str, int], ...]]:
    """A test's ``kits:`` (kit -> {component: qty}) as kit -> ((component, qty), ...); the schema
    has already reported shapes that are wrong, so they are left out here."""
    if not isinstance(raw, dict):
        return {}
    return {
        str(kit): tuple((str(c), q) for c, q in parts.items() if isinstance(q, int))
        for kit, parts in raw.items()
        if isinstance(parts, dict) and parts
    }
