"""Rule-file tests (SPEC §6) that describe kits and stock in several warehouses (SPEC §12)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine.errors import BadInput
from engine.run.ruletests import run_tests, stock_rows
from rules.loader import check_ruleset_bytes

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

FILE = """version: 1
rules:
  - name: east-then-west
    rule: when new order then allocate from ["east", "west"]
tests:
  - name: {name}
{body}
"""


def _load(name: str, body: str) -> tuple[Any, list[str]]:
    ruleset, diagnostics = check_ruleset_bytes(FILE.format(name=name, body=body).encode(), "r.yaml")
    return ruleset, [str(d) for d in diagnostics if d.severity == "error"]


def _failures(body: str) -> list[str]:
    ruleset, errors = _load("t", body)
    assert errors == []
    (outcome,) = run_tests(ruleset)
    return outcome.failures


def test_a_kit_reserves_its_components_across_the_listed_warehouses() -> None:
    body = """    kits: {GIFTBOX: {MUG: 1, TEA: 2}}
    inventory: {MUG: {east: 1, west: 5}, TEA: {west: 4}}
    orders:
      - {id: K1, channel: web, lines: [{sku: GIFTBOX, qty: 2}]}
      - {id: K2, channel: web, lines: [{sku: GIFTBOX, qty: 1}]}
    expect: {K1: allocated, K2: could_not_allocate}"""
    # K1 takes 2 MUG + 4 TEA from west (east cannot complete it); K2 finds no TEA left.
    assert _failures(body) == []
    wrong = body.replace("K2: could_not_allocate", "K2: allocated")
    assert _failures(wrong) == ["K2: expected allocated, got could_not_allocate"]


def test_steps_receive_into_a_named_warehouse() -> None:
    text = """version: 1
rules:
  - name: on-arrival
    rule: when inventory received then allocate
tests:
  - name: t
    kits: {GIFTBOX: {MUG: 1, TEA: 1}}
    inventory: {MUG: {east: 1}}
    orders:
      - {id: K1, channel: web, warehouse: east, lines: [{sku: GIFTBOX, qty: 1}]}
    steps:
      - {tick: 1, expect: {K1: unallocated}}
      - receive: {TEA: {main: 5}}
      - {tick: 1, expect: {K1: unallocated}}
      - receive: {TEA: {east: 1}}
      - {tick: 1, expect: {K1: allocated}}
      - adjust: {TEA: {east: -1}}
        expect: {K1: overallocated}
"""
    ruleset, diagnostics = check_ruleset_bytes(text.encode(), "r.yaml")
    assert [d for d in diagnostics if d.severity == "error"] == []
    (outcome,) = run_tests(ruleset)
    assert outcome.failures == []
    assert ruleset.tests[0].steps[1].label == "receive TEA: 5 in main"


def test_plain_quantities_still_mean_warehouse_main() -> None:
    assert stock_rows({"A": 3, "B": {"east": 1, "west": 2}}) == [
        ("A", "main", 3),
        ("B", "east", 1),
        ("B", "west", 2),
    ]


def test_a_kit_problem_names_the_file_and_line_of_the_kit() -> None:
    ruleset, errors = _load(
        "t",
        """    kits:
      BOX: {BOX: 1}
    orders: [{id: K1, channel: web, lines: [{sku: BOX, qty: 1}]}]
    expect: {K1: allocated}""",
    )
    assert errors == []
    with pytest.raises(BadInput) as caught:
        run_tests(ruleset)
    assert str(caught.value).startswith("r.yaml:8:")
    assert "BOX" in str(caught.value)


def test_a_blank_kit_component_is_refused_not_stored() -> None:
    ruleset, errors = _load(
        "t",
        """    kits: {BOX: {"": 1}}
    orders: [{id: K1, channel: web, lines: [{sku: BOX, qty: 1}]}]
    expect: {K1: allocated}""",
    )
    assert errors == []
    with pytest.raises(BadInput, match=r"r\.yaml:7: kit 'BOX': a SKU cannot be blank"):
        run_tests(ruleset)


def test_stock_on_a_kit_sku_is_refused() -> None:
    ruleset, _ = _load(
        "t",
        """    kits: {BOX: {MUG: 1}}
    inventory: {BOX: 3}
    orders: [{id: K1, channel: web, lines: [{sku: BOX, qty: 1}]}]
    expect: {K1: allocated}""",
    )
    with pytest.raises(BadInput, match="BOX"):
        run_tests(ruleset)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("    kits: {BOX: {}}", "should be non-empty"),
        ("    kits: {BOX: {MUG: 0}}", "0 is less than the minimum of 1"),
        ("    kits: {BOX: [MUG]}", "is not of type 'object'"),
        ("    inventory: {MUG: {east: x}}", "'x' is not of type 'integer'"),
        ("    inventory: {MUG: {}}", "should be non-empty"),
        ("    inventory: {MUG: 1.5}", "1.5 is not of type 'integer'"),
    ],
)
def test_bad_kits_and_stock_shapes_are_refused_at_their_place(body: str, message: str) -> None:
    _, errors = _load("t", body + "\n    orders: []\n    expect: {}")
    assert len(errors) == 1 and message in errors[0], errors
    assert errors[0].startswith("r.yaml:7:"), errors


@pytest.mark.parametrize(
    "path", sorted(EXAMPLES.rglob("*.yaml")), ids=lambda p: str(p.relative_to(EXAMPLES))
)
def test_every_example_rule_file_passes_its_own_tests(path: Path) -> None:
    ruleset, diagnostics = check_ruleset_bytes(path.read_bytes(), str(path))
    assert [str(d) for d in diagnostics if d.severity == "error"] == []
    assert ruleset.tests, f"{path} shows no test"
    assert [o.failures for o in run_tests(ruleset) if o.failures] == []


def test_a_stock_event_offers_the_orders_its_warehouse_can_serve_under_each_rule() -> None:
    """A receipt in east offers orders of any warehouse to a rule allocating from a list that
    names east; every other rule gets the orders of east only (B2: offered, tagged, but its
    rule allocates from west, which has nothing)."""
    text = """version: 1
rules:
  - name: from-east
    rule: when inventory received if channel == "a" then allocate from ["east"]
  - name: from-west
    rule: when inventory received if channel == "b" then tag "offered", allocate from ["west"]
  - name: own
    rule: when inventory received if channel == "c" then allocate
tests:
  - name: t
    orders:
      - {id: A1, channel: a, lines: [{sku: W, qty: 1}]}
      - {id: B1, channel: b, lines: [{sku: W, qty: 1}]}
      - {id: B2, channel: b, warehouse: east, lines: [{sku: W, qty: 1}]}
      - {id: C1, channel: c, lines: [{sku: W, qty: 1}]}
      - {id: C2, channel: c, warehouse: east, lines: [{sku: W, qty: 1}]}
    steps:
      - receive: {W: {east: 10}}
      - tick: 1
        expect: {A1: allocated, B1: unallocated, B2: could_not_allocate, C1: unallocated,
                 C2: allocated}
"""
    ruleset, diagnostics = check_ruleset_bytes(text.encode(), "r.yaml")
    assert [d for d in diagnostics if d.severity == "error"] == []
    (outcome,) = run_tests(ruleset)
    assert outcome.failures == []


def test_an_invalid_test_order_is_reported_at_its_own_line() -> None:
    """`channel` is checked when the test runs; the problem named the test's line (6), not the
    line of the order that lacks it (10), so in a test of twenty orders the user had to hunt."""
    body = """    inventory: {MUG: {east: 1}}
    orders:
      - {id: A1, channel: web, lines: [{sku: MUG, qty: 1}]}
      - {id: A2, lines: [{sku: MUG, qty: 1}]}
    expect: {A1: allocated}"""
    ruleset, errors = _load("no channel", body)
    assert errors == []
    with pytest.raises(BadInput) as caught:
        run_tests(ruleset)
    assert str(caught.value).splitlines()[0] == "r.yaml:6: test 'no channel' has invalid orders"
    assert caught.value.problems == [
        "r.yaml:10: test 'no channel': order 'A2': channel is required"
    ]
