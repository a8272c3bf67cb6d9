"""Previews, rule-set diffs, dry runs and explanations (issue: see before you leap)."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.io.imports import read_inventory, read_orders
from engine.run.explain import explain
from engine.run.preview import diff, preview
from engine.run.runner import Runner
from engine.service import Service
from engine.store import Store
from rules.loader import load_ruleset
from tests.helpers import order, snapshot

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _rules(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _seed_examples(service: Service) -> None:
    service.import_inventory(read_inventory(EXAMPLES / "inventory.csv"))
    service.add_orders(read_orders(EXAMPLES / "orders.json"))


def test_preview_predicts_exactly_what_run_once_does(store: Store, clock) -> None:
    service = Service(store, clock)
    _seed_examples(service)
    ruleset = load_ruleset(EXAMPLES / "rules.yaml")
    before = snapshot(store)
    predicted = preview(service, ruleset)
    assert snapshot(store) == before  # nothing at all was written
    assert predicted.summary()["status_changes"] > 100

    Runner(service, ruleset, clock).tick()
    with store.read() as conn:
        actual = service.load_orders(conn, list(predicted.orders))
    for oid, outcome in predicted.orders.items():
        assert actual[oid].allocation_status == outcome.after, oid
        assert sum(x.reserved for x in actual[oid].lines) == outcome.reserved_after, oid
    # Orders the preview did not list really did not change.
    unlisted = [o for o in service.list_orders() if o["id"] not in predicted.orders]
    assert all(o["allocation_status"] == "unallocated" for o in unlisted)


def test_preview_reports_queue_rules_and_stock(store: Store, clock, tmp_path: Path) -> None:
    service = Service(store, clock)
    service.change_stock("MUG", "main", 1, "set")
    service.add_orders(
        [
            order("OLD", ("MUG", 1), shipping_method="ground"),
            order("NEW", ("MUG", 1), minutes=5, shipping_method="overnight"),
        ]
    )
    rules = _rules(
        tmp_path,
        "r.yaml",
        """version: 1
rules:
  - name: express
    priority: 10
    rule: when new order if shipping_method == "overnight" then allocate, tag "rush"
  - name: rest
    rule: when new order then allocate
""",
    )
    result = preview(service, load_ruleset(rules))
    new, old = result.orders["NEW"], result.orders["OLD"]
    assert (new.queue_position, new.deciding_rule, new.after) == (1, "express", "allocated")
    assert (old.queue_position, old.deciding_rule, old.after) == (2, "rest", "could_not_allocate")
    assert new.matched_rules == ["express", "rest"]
    assert 'express: tag "rush"' in new.actions
    assert result.stock == [
        {"sku": "MUG", "warehouse": "main", "available_before": 1, "available_after": 0}
    ]
    assert service.get_order("NEW").tags == frozenset()  # the tag was not really written


def test_diff_names_the_victims(store: Store, clock, tmp_path: Path) -> None:
    service = Service(store, clock)
    service.change_stock("MUG", "main", 2, "set")
    service.add_orders(
        [
            order("G1", ("MUG", 1), shipping_method="ground"),
            order("G2", ("MUG", 1), minutes=1, shipping_method="ground"),
            order("X1", ("MUG", 1), minutes=2, shipping_method="overnight"),
        ]
    )
    fifo = _rules(
        tmp_path,
        "fifo.yaml",
        """version: 1
rules:
  - name: fifo
    rule: when new order then allocate
""",
    )
    express = _rules(
        tmp_path,
        "express.yaml",
        """version: 1
rules:
  - name: express
    priority: 10
    rule: when new order if shipping_method == "overnight" then allocate
  - name: fifo
    rule: when new order then allocate
""",
    )
    result = diff(preview(service, load_ruleset(express)), preview(service, load_ruleset(fifo)))
    assert [row["id"] for row in result["differing"]] == ["G2", "X1"]
    assert [row["id"] for row in result["victims"]] == ["G2"]
    victim = result["victims"][0]
    assert (victim["reserved"], victim["reserved_other"]) == (0, 1)


def test_allocate_dry_run_writes_nothing(store: Store, clock) -> None:
    service = Service(store, clock)
    service.change_stock("MUG", "main", 1, "set")
    service.add_orders([order("A", ("MUG", 1)), order("B", ("MUG", 1), minutes=1)])
    before = snapshot(store)
    report = service.allocate(dry_run=True)
    assert [r["after"] for r in report.results] == ["allocated", "could_not_allocate"]
    assert snapshot(store) == before


def test_explain_short_line_lists_holders_in_coverage_order(store: Store, clock) -> None:
    service = Service(store, clock)
    service.change_stock("MUG", "main", 3, "set")
    service.add_orders(
        [
            order("H1", ("MUG", 2)),
            order("H2", ("MUG", 1), minutes=1),
            order("ME", ("MUG", 2), ("CAP", 1), minutes=2),
        ]
    )
    service.allocate(["H2"])
    service.allocate(["H1"])
    service.allocate(["ME"])
    doc = explain(service, "ME")
    assert doc["allocation_status"] == "could_not_allocate"
    mug = doc["lines"][0]
    assert (mug["qty"], mug["reserved"], mug["available"], mug["shortfall"]) == (2, 0, 0, 2)
    assert [(h["order"], h["qty"]) for h in mug["held_by"]] == [("H2", 1), ("H1", 2)]
    assert "MUG" in doc["summary"]


@pytest.mark.parametrize("how", ["adjust", "ship"])
def test_explain_overallocated_names_what_took_the_cover(store: Store, clock, how: str) -> None:
    service = Service(store, clock)
    service.change_stock("MUG", "main", 1, "set")
    service.add_orders([order("A", ("MUG", 1)), order("S", ("MUG", 1), minutes=1)])
    service.allocate(["A"])
    if how == "adjust":
        service.change_stock("MUG", "main", -1, "adjusted")
    else:
        service.finish(["S"], "ship")
    doc = explain(service, "A")
    assert doc["allocation_status"] == "overallocated"
    taken = doc["lines"][0]["cover_taken_by"]
    expected = "inventory adjusted" if how == "adjust" else "order S shipped"
    assert [(t["change"], t["delta"]) for t in taken] == [(expected, -1)]
    assert doc["summary"].startswith("1 line holds reservations that stock no longer covers")


def test_explain_overallocated_counts_lines_in_words(store: Store, clock) -> None:
    service = Service(store, clock)
    service.change_stock("MUG", "main", 2, "set")
    service.change_stock("CUP", "main", 1, "set")
    service.add_orders([order("A", ("MUG", 2), ("CUP", 1))])
    service.allocate(["A"])
    service.change_stock("MUG", "main", 0, "set")
    service.change_stock("CUP", "main", 0, "set")
    summary = explain(service, "A")["summary"]
    assert summary.startswith("2 lines hold reservations that stock no longer covers")


def test_explain_rules_show_first_failed_condition(store: Store, clock, tmp_path: Path) -> None:
    service = Service(store, clock)
    from engine.model import ShipTo

    service.add_orders(
        [order("CA1", ("MUG", 1), ship_to=ShipTo(country="CA"), shipping_method="ground")]
    )
    rules = _rules(
        tmp_path,
        "r.yaml",
        """version: 1
rules:
  - name: us-express
    priority: 50
    rule: when new order if shipping_method == "ground" and ship_to.country == "US" then allocate
  - name: amazon
    priority: 40
    rule: when new order from channel "amazon" then allocate
  - name: rest
    rule: when new order then allocate
  - name: never-shown
    priority: -5
    rule: when new order if total > 5 then allocate
""",
    )
    doc = explain(service, "CA1", load_ruleset(rules))
    by_rule = {r["rule"]: r for r in doc["rules"]}
    assert by_rule["us-express"]["reason"] == (
        'ship_to.country == "US" failed: ship_to.country was "CA"'
    )
    assert by_rule["amazon"]["reason"] == 'channel was "shopify", the rule takes "amazon"'
    assert by_rule["rest"]["matches"] is True
    assert "never-shown" not in by_rule  # below the first matching rule and not matching


def test_all_open_treats_every_open_unallocated_order_as_new(
    store: Store, clock, tmp_path: Path
) -> None:
    service = Service(store, clock)
    service.change_stock("MUG", "main", 5, "set")
    service.add_orders(
        [
            order("A", ("MUG", 1)),
            order("B", ("MUG", 1), minutes=1),
            order("DONE", ("MUG", 1), minutes=2),
        ]
    )
    service.allocate(["DONE"])
    Runner(
        service,
        load_ruleset(
            _rules(
                tmp_path,
                "noop.yaml",
                """version: 1
rules:
  - name: noop
    rule: when order updated then tag "x"
""",
            )
        ),
        clock,
    ).tick()  # consume the pending order.created events
    rules = load_ruleset(
        _rules(
            tmp_path,
            "r.yaml",
            """version: 1
rules:
  - name: new
    rule: when new order then allocate
""",
        )
    )
    assert preview(service, rules).orders == {}  # nothing pending: nothing to do
    result = preview(service, rules, all_open=True)
    assert {oid: o.after for oid, o in result.orders.items()} == {
        "A": "allocated",
        "B": "allocated",
    }
    assert "DONE" not in result.orders  # already allocated, so not offered as new
