"""The `steps:` of a rule test: what happens between ticks (cancel, ship, receive, edit, ...).

The schema checks each step's shape; this turns steps into `TestStep`s and checks what the
schema cannot: one action per step, the word `tick`, and that every order a step or an
`expect` names is an order of the test (given in `orders:`, added by an earlier step, or split
off one of them by a rule: `<id>-<n>`).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Container, Mapping
from typing import Any

from dsl.errors import shorten
from rules.filecheck import FileCheck
from rules.ruleset import Places, TestStep
from rules.yaml_read import Path_

#: The actions a step may take, in the order the docs list them.
ACTIONS = ("tick", "orders", "ship", "cancel", "dropship", "receive", "set", "adjust", "edit")
_SPLIT_CHILD = re.compile(r"^(?P<parent>.+)-[1-9][0-9]*$")


def known_order(order_id: str, ids: Container[str]) -> bool:
    """An order of the test, or one a rule may split off one of them (`<id>-<n>`)."""
    while True:
        if order_id in ids:
            return True
        match = _SPLIT_CHILD.match(order_id)
        if match is None:
            return False
        order_id = match.group("parent")


def order_places(check: FileCheck, orders: list[dict[str, Any]], path: Path_) -> tuple[Places, ...]:
    """Where each order of `orders` (at `path`) and each of its fields are in the file, by the
    name an import's message gives the field (`channel`, `ship_to.country`, `lines[0].qty`;
    `""` for the order itself): a problem the import finds is then told at its field."""
    out: list[Places] = []
    for j, order in enumerate(orders):
        at = (*path, j)
        places = {"": check.pos(at)}
        for key, value in order.items():
            places[str(key)] = check.pos((*at, str(key)))
            if key == "ship_to" and isinstance(value, dict):
                for part in value:
                    places[f"ship_to.{part}"] = check.pos((*at, "ship_to", str(part)))
            if key == "lines" and isinstance(value, list):
                for n, line in enumerate(value):
                    places[f"lines[{n}]"] = check.pos((*at, "lines", n))
                    for part in line if isinstance(line, dict) else ():
                        places[f"lines[{n}].{part}"] = check.pos((*at, "lines", n, str(part)))
        out.append(places)
    return tuple(out)


def check_unique_ids(
    check: FileCheck, orders: list[dict[str, Any]], path: Path_, ids: dict[str, int]
) -> None:
    """An error at each order whose id an earlier order of the test (in `orders:` or an earlier
    `orders` step) already has: the test's import would refuse it with no place to show.
    `ids` maps each id seen to the line it was first given at, and grows."""
    for j, order in enumerate(orders):
        order_id = order.get("id")
        if not isinstance(order_id, str):
            continue
        line, column = check.pos((*path, j, "id"))
        first = ids.get(order_id)
        if first is None:
            ids[order_id] = line
            continue
        check.error(
            line,
            column,
            f"order `{shorten(order_id)}` is given twice in this test (first at line {first})",
            "give each order of a test its own id",
        )


def check_expect(check: FileCheck, expect: Any, path: Path_, ids: Container[str]) -> dict[str, str]:
    """An `expect` mapping whose order ids are all orders of the test (else an error each)."""
    if not isinstance(expect, dict):
        return {}
    for order_id in expect:
        if not known_order(str(order_id), ids):
            node = check.key_nodes.get((*path, str(order_id))) or check.node_at(path)
            line, column = check.at(node)
            check.error(line, column, f"`{shorten(order_id)}` is not an order of this test")
    return {str(k): str(v) for k, v in expect.items()}


def check_steps(
    check: FileCheck, steps: Any, path: Path_, ids: dict[str, int]
) -> tuple[TestStep, ...]:
    """The test's steps; `ids` (the test's orders, each with its line) grows with the orders
    steps add."""
    if not isinstance(steps, list):
        return ()
    out: list[TestStep] = []
    for n, raw in enumerate(steps):
        step = _step(check, raw, (*path, n), ids)
        if step is not None:
            out.append(step)
    return tuple(out)


def _step(check: FileCheck, raw: Any, path: Path_, ids: dict[str, int]) -> TestStep | None:
    line, column = check.pos(path)
    if isinstance(raw, str):
        if raw != "tick":
            close = difflib.get_close_matches(raw[:100], ACTIONS, n=1)
            check.error(
                line,
                column,
                f"`{shorten(raw)}` is not a step",
                f"did you mean `{close[0]}`?"
                if close
                else "a step is `tick` or a mapping with one of: " + ", ".join(ACTIONS),
            )
            return None
        return TestStep("tick", 1, {}, line)
    if not isinstance(raw, dict):
        return None  # the schema reported it
    actions = [key for key in raw if key in ACTIONS]
    if len(actions) > 1:
        second = check.key_nodes.get((*path, actions[1]))
        at = check.at(second) if second else (line, column)
        check.error(
            *at,
            f"a step does one thing; this one has {', '.join(f'`{a}`' for a in actions)}",
            "write one step per action, in the order they happen",
        )
        return None
    action = actions[0] if actions else None
    value = _value(check, action, raw.get(action), (*path, str(action)), ids)
    expect = check_expect(check, raw.get("expect"), (*path, "expect"), ids)
    places = order_places(check, list(value), (*path, "orders")) if action == "orders" else ()
    return TestStep(action, value, expect, line, places)


def _value(
    check: FileCheck, action: str | None, value: Any, path: Path_, ids: dict[str, int]
) -> Any:
    if action is None:
        return None
    if action == "tick":
        return value if isinstance(value, int) else 1
    if action == "orders":
        orders = [o for o in value if isinstance(o, dict)] if isinstance(value, list) else []
        check_unique_ids(check, orders, path, ids)
        return tuple(orders)
    if action in ("ship", "cancel", "dropship"):
        named = [value] if isinstance(value, str) else value if isinstance(value, list) else []
        named = [x for x in named if isinstance(x, str)]
        for index, order_id in enumerate(named):
            if not known_order(order_id, ids):
                at = path if isinstance(value, str) else (*path, index)
                check.error(*check.pos(at), f"`{shorten(order_id)}` is not an order of this test")
        return tuple(named)
    if action == "edit":
        edits: dict[str, tuple[tuple[str, int], ...]] = {}
        for order_id, lines in (value or {}).items() if isinstance(value, Mapping) else ():
            if not known_order(str(order_id), ids):
                node = check.key_nodes.get((*path, str(order_id))) or check.node_at(path)
                check.error(*check.at(node), f"`{shorten(order_id)}` is not an order of this test")
            if isinstance(lines, list):
                edits[str(order_id)] = tuple(
                    (str(x.get("sku")), int(x["qty"]))
                    for x in lines
                    if isinstance(x, dict) and isinstance(x.get("qty"), int)
                )
        return edits
    # receive / set / adjust: SKU -> quantity
    return {str(k): v for k, v in value.items()} if isinstance(value, Mapping) else {}
