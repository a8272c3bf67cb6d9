"""Scheduled rules select their candidates in the database (engine.sqlfilter) and still match
exactly what the compiled predicate matches, including `matches` on PostgreSQL (not pushed down)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from engine.model import Order, ShipTo
from engine.run.runner import Runner
from engine.service import Service
from engine.store import Store
from rules.loader import load_ruleset
from tests.helpers import order


@pytest.mark.parametrize(
    "condition",
    [
        'channel == "amazon" and ship_to.country in ["US", "CA"]',
        'id matches "^AMZ-[0-9]+$" or tags contains "vip"',
        'not (channel != "amazon") and age > 2 days',
    ],
)
def test_schedule_matches_only_what_its_condition_selects(
    store: Store, clock, tmp_path: Path, condition: str
) -> None:
    service = Service(store, clock)
    service.add_orders(
        [
            order("AMZ-1", ("MUG", 1), channel="amazon", ship_to=ShipTo(country="US")),
            order("AMZ-2", ("MUG", 1), minutes=1, channel="amazon", ship_to=ShipTo(country="GB")),
            order("SH-1", ("MUG", 1), minutes=2, tags=frozenset({"vip"})),
            order("SH-2", ("MUG", 1), minutes=3, ship_to=ShipTo(country="US")),
        ]
    )
    rules = tmp_path / "r.yaml"
    rules.write_text(
        f"version: 1\nrules:\n  - name: nightly\n"
        f'    rule: every 1 day if {condition} then tag "picked"\n'
    )
    ruleset = load_ruleset(rules)
    result = Runner(service, ruleset, clock).tick()
    assert result.schedules and result.schedules[0][0] == "nightly"
    with store.read() as conn:
        everything = service.load_orders(conn, ["AMZ-1", "AMZ-2", "SH-1", "SH-2"])
    rule = ruleset.get("nightly")
    expected = {oid for oid, o in everything.items() if "picked" in o.tags}
    # The tag was applied after matching: recompute the match on the state before it.
    predicted = {
        oid for oid, o in everything.items() if rule.matches(_without(o, "picked"), result.started)
    }
    assert expected == predicted
    assert expected  # every condition above picks someone


def _without(o: Order, tag: str) -> Order:
    return replace(o, tags=o.tags - {tag})
