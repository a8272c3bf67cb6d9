"""One rule tick (engine.runner) on both backends: triggers, priority, actions, ledger, outbox.

Each test writes a small rule file, feeds the store what a user would (orders, stock changes,
edits), runs `Runner.tick` as `dibs run --once` does and checks what `orders show`, `history`
and `inventory list` would show.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from engine.run.runner import Runner
from engine.service import Service
from engine.store import Store, events, ledger, rule_runs
from rules.loader import load_ruleset
from rules.ruleset import RuleSet
from tests.conftest import FakeClock
from tests.helpers import order
from tests.integration.helpers import reserved, statuses, stock


def ruleset(tmp_path: Path, *rules: dict[str, Any], timezone: str | None = None) -> RuleSet:
    """Write a rule file (JSON is YAML) with these rules and load it as `dibs run` would."""
    doc: dict[str, Any] = {"version": 1, "rules": list(rules)}
    if timezone:
        doc["timezone"] = timezone
    path = tmp_path / "rules.yaml"
    path.write_text(json.dumps(doc, indent=2))
    return load_ruleset(path)


def rule(name: str, text: str, priority: int = 0) -> dict[str, Any]:
    return {"name": name, "priority": priority, "rule": text}


def tags(svc: Service, oid: str) -> set[str]:
    return set(svc.get_order(oid).tags)


def pending_events(store: Store) -> int:
    with store.read() as conn:
        return len(conn.execute(select(events.c.id).where(events.c.processed.is_(False))).all())


def ledger_count(store: Store) -> int:
    with store.read() as conn:
        return len(conn.execute(select(ledger.c.id)).all())


def slots(store: Store, name: str) -> list[datetime]:
    with store.read() as conn:
        found = (
            conn.execute(
                select(rule_runs.c.slot).where(rule_runs.c.rule == name).order_by(rule_runs.c.slot)
            )
            .scalars()
            .all()
        )
    return [s if s.tzinfo else s.replace(tzinfo=UTC) for s in found]


# ------------------------------------------------------------------------------- triggers


def test_new_order_allocates_and_the_ledger_names_rule_and_ruleset(
    store: Store, clock: FakeClock, tmp_path: Path
) -> None:
    svc = Service(store, clock)
    rs = ruleset(tmp_path, rule("everyone", "when new order then allocate"))
    svc.import_inventory([("MUG", "main", 5)])
    svc.add_orders([order("A1", ("MUG", 2))])
    result = Runner(svc, rs, clock).tick()
    assert result.events >= 1
    assert statuses(svc, "A1") == {"A1": "allocated"}
    assert stock(svc, "MUG") == (5, 2, 3)
    history = svc.history("A1")
    assert [(h["operation"], h["delta"], h["rule"], h["ruleset"]) for h in history] == [
        ("allocate", 2, "everyone", rs.hash)
    ]


def test_a_rule_added_by_a_reload_runs_in_the_next_tick(
    store: Store, clock: FakeClock, tmp_path: Path
) -> None:
    """`dibs run` and `dibs serve --rules` swap `runner.ruleset` when the file changes; a rule
    the reload adds (or renames) must run, not make every later tick fail."""
    svc = Service(store, clock)
    runner = Runner(svc, ruleset(tmp_path, rule("first", 'when new order then tag "seen"')), clock)
    svc.import_inventory([("MUG", "main", 5)])
    svc.add_orders([order("A1", ("MUG", 2))])
    runner.tick()
    runner.ruleset = ruleset(
        tmp_path,
        rule("vip", "when new order then allocate", priority=10),
        rule("first", 'when new order then tag "seen"'),
    )
    svc.add_orders([order("A2", ("MUG", 1))])
    result = runner.tick()
    assert result.events >= 1
    assert statuses(svc, "A1", "A2") == {"A1": "unallocated", "A2": "allocated"}
    assert tags(svc, "A2") == {"seen"}


def test_from_channel_filters_take_a_string_or_a_list(
    store: Store, clock: FakeClock, tmp_path: Path
) -> None:
    svc = Service(store, clock)
    rs = ruleset(
        tmp_path,
        rule("amazon", 'when new order from channel "amazon" then tag "amz"'),
        rule("markets", 'when new order from channel ["ebay", "walmart"] then tag "market"'),
    )
    svc.add_orders(
        [
            order("AMZ", ("MUG", 1), channel="amazon"),
            order("EB", ("MUG", 1), channel="ebay"),
            order("WM", ("MUG", 1), channel="walmart"),
            order("SH", ("MUG", 1), channel="shopify"),
            order("CASE", ("MUG", 1), channel="Amazon"),
        ]
    )  # case-sensitive
    Runner(svc, rs, clock).tick()
    assert {oid: tags(svc, oid) for oid in ("AMZ", "EB", "WM", "SH", "CASE")} == {
        "AMZ": {"amz"},
        "EB": {"market"},
        "WM": {"market"},
        "SH": set(),
        "CASE": set(),
    }


def test_editing_an_order_fires_order_updated_rules(
    store: Store, clock: FakeClock, tmp_path: Path
) -> None:
    svc = Service(store, clock)
    rs = ruleset(tmp_path, rule("on-edit", "when order updated then allocate"))
    svc.import_inventory([("MUG", "main", 5), ("CAP", "main", 5)])
    svc.add_orders([order("A1", ("MUG", 1)), order("B1", ("MUG", 1), minutes=1)])
    runner = Runner(svc, rs, clock)
    runner.tick()
    # A new order is not an update.
    assert statuses(svc, "A1", "B1") == {"A1": "unallocated", "B1": "unallocated"}
    svc.edit("A1", [("MUG", 1), ("CAP", 2)])
    result = runner.tick()
    assert result.matches == {"on-edit": 1}
    assert statuses(svc, "A1", "B1") == {"A1": "allocated", "B1": "unallocated"}
    assert reserved(svc, "A1") == [1, 2]


@pytest.mark.parametrize(
    "kind, qty, fired",
    [
        ("set", 7, {"changed"}),
        ("adjusted", 2, {"changed"}),
        ("adjusted", -1, {"changed"}),
        ("received", 3, {"changed", "received"}),
    ],
)
def test_inventory_received_fires_only_on_receipts_inventory_changed_on_every_kind(
    store: Store, clock: FakeClock, tmp_path: Path, kind: str, qty: int, fired: set[str]
) -> None:
    svc = Service(store, clock)
    rs = ruleset(
        tmp_path,
        rule("received", 'when inventory received then tag "saw-receipt"'),
        rule("changed", 'when inventory changed then tag "saw-change"'),
    )
    svc.import_inventory([("MUG", "main", 1)])
    svc.add_orders(
        [
            order("WAITS", ("MUG", 1)),
            order("OTHER-SKU", ("CAP", 1)),
            order("OTHER-WH", ("MUG", 1), warehouse="east"),
            order("SHIPPED", ("MUG", 1)),
        ]
    )
    svc.finish(["SHIPPED"], "ship")
    runner = Runner(svc, rs, clock)
    runner.tick()  # the setup's events fire `inventory changed` too: clear the slate
    before = {oid: tags(svc, oid) for oid in ("WAITS", "OTHER-SKU", "OTHER-WH", "SHIPPED")}
    svc.change_stock("MUG", "main", qty, kind)
    result = runner.tick()
    assert result.events == 1
    assert set(result.matches) == fired
    assert all(n == 1 for n in result.matches.values())
    # Only the awaiting order with a line on (MUG, main) was offered.
    expected = {"changed": "saw-change", "received": "saw-receipt"}
    assert tags(svc, "WAITS") == before["WAITS"] | {expected[r] for r in fired}
    for oid in ("OTHER-SKU", "OTHER-WH", "SHIPPED"):
        assert tags(svc, oid) == before[oid]


def test_every_n_minutes_fires_on_aligned_slots_and_retries_backorders(
    store: Store, tmp_path: Path
) -> None:
    clock = FakeClock(datetime(2026, 11, 2, 12, 3, tzinfo=UTC))
    svc = Service(store, clock)
    rs = ruleset(
        tmp_path,
        rule(
            "retry", 'every 10 minutes if allocation_status == "could_not_allocate" then allocate'
        ),
        rule("new", "when new order then allocate"),
    )
    svc.add_orders([order("A1", ("MUG", 1))])
    runner = Runner(svc, rs, clock)
    first = runner.tick()  # never ran: due at once, for the latest slot
    assert first.schedules == [("retry", datetime(2026, 11, 2, 12, 0, tzinfo=UTC))]
    assert statuses(svc, "A1") == {"A1": "could_not_allocate"}
    svc.import_inventory([("MUG", "main", 1)])  # `set` has no rule here
    clock.advance(minutes=5)  # 12:08
    assert runner.tick().schedules == []
    assert statuses(svc, "A1") == {"A1": "could_not_allocate"}
    clock.advance(minutes=2)  # 12:10
    assert runner.tick().schedules == [("retry", datetime(2026, 11, 2, 12, 10, tzinfo=UTC))]
    assert statuses(svc, "A1") == {"A1": "allocated"}
    assert svc.history("A1")[-1]["rule"] == "retry"
    clock.advance(minutes=9)  # 12:19
    assert runner.tick().schedules == []
    assert slots(store, "retry") == [
        datetime(2026, 11, 2, 12, 0, tzinfo=UTC),
        datetime(2026, 11, 2, 12, 10, tzinfo=UTC),
    ]


def test_daily_at_runs_at_that_wall_time_in_the_files_time_zone(
    store: Store, tmp_path: Path
) -> None:
    # 2026-11-02 is after the fall-back: New York is UTC-5, 06:00 there is 11:00 UTC.
    clock = FakeClock(datetime(2026, 11, 2, 10, 0, tzinfo=UTC))
    svc = Service(store, clock)
    rs = ruleset(
        tmp_path, rule("morning", 'daily at 06:00 then tag "morning"'), timezone="America/New_York"
    )
    svc.add_orders([order("A1", ("MUG", 1))])
    runner = Runner(svc, rs, clock)
    first = runner.tick()  # never ran: the latest 06:00 New York (yesterday, UTC-4 then)
    assert first.schedules == [("morning", datetime(2026, 11, 1, 11, 0, tzinfo=UTC))]
    clock.advance(minutes=59)  # 10:59 UTC = 05:59 New York
    assert runner.tick().schedules == []
    clock.advance(minutes=1)  # 11:00 UTC = 06:00 New York
    assert runner.tick().schedules == [("morning", datetime(2026, 11, 2, 11, 0, tzinfo=UTC))]
    assert tags(svc, "A1") == {"morning"}
    clock.advance(hours=12)
    assert runner.tick().schedules == []


@pytest.mark.parametrize("expr", ["0 2 * * 0", "0 2 * * 7", "0 2 * * sun"])
def test_cron_day_of_week_zero_and_seven_are_sunday(
    store: Store, tmp_path: Path, expr: str
) -> None:
    saturday = datetime(2026, 1, 3, 12, 0, tzinfo=UTC)
    assert saturday.strftime("%A") == "Saturday"
    clock = FakeClock(saturday)
    svc = Service(store, clock)
    rs = ruleset(tmp_path, rule("weekly", f'cron "{expr}" then tag "weekly"'))
    runner = Runner(svc, rs, clock)
    first = runner.tick()  # never ran: the previous Sunday 02:00
    assert first.schedules == [("weekly", datetime(2025, 12, 28, 2, 0, tzinfo=UTC))]
    assert first.schedules[0][1].strftime("%A") == "Sunday"
    clock.advance(hours=13, minutes=59)  # Sunday 01:59
    assert runner.tick().schedules == []
    clock.advance(minutes=1)  # Sunday 02:00
    fired = runner.tick().schedules
    assert fired == [("weekly", datetime(2026, 1, 4, 2, 0, tzinfo=UTC))]
    assert fired[0][1].strftime("%A") == "Sunday"
    clock.advance(days=1)  # Monday 02:00: not a cron Sunday
    assert runner.tick().schedules == []


# -------------------------------------------------------------------------------- priority


def test_priority_beats_fifo_within_one_tick(
    store: Store, clock: FakeClock, tmp_path: Path
) -> None:
    svc = Service(store, clock)
    rs = ruleset(
        tmp_path,
        rule("everyone", "when new order then allocate"),
        rule(
            "express",
            'when new order if shipping_method == "overnight" then allocate',
            priority=100,
        ),
    )
    svc.import_inventory([("MUG", "main", 1)])
    svc.add_orders(
        [
            order("OLD-GROUND", ("MUG", 1), shipping_method="ground"),
            order("NEW-EXPRESS", ("MUG", 1), minutes=60, shipping_method="overnight"),
        ]
    )
    Runner(svc, rs, clock).tick()
    assert statuses(svc, "OLD-GROUND", "NEW-EXPRESS") == {
        "OLD-GROUND": "could_not_allocate",
        "NEW-EXPRESS": "allocated",
    }
    assert svc.history("NEW-EXPRESS")[0]["rule"] == "express"


def test_without_priority_allocation_is_fifo_by_placed_at(
    store: Store, clock: FakeClock, tmp_path: Path
) -> None:
    svc = Service(store, clock)
    rs = ruleset(tmp_path, rule("everyone", "when new order then allocate"))
    svc.import_inventory([("MUG", "main", 1)])
    # Inserted newest first: placed_at decides, not insertion or id order.
    svc.add_orders([order("A-NEW", ("MUG", 1), minutes=60)])
    svc.add_orders([order("Z-OLD", ("MUG", 1))])
    Runner(svc, rs, clock).tick()
    assert statuses(svc, "A-NEW", "Z-OLD") == {"A-NEW": "could_not_allocate", "Z-OLD": "allocated"}


def test_stop_keeps_lower_rules_away(store: Store, clock: FakeClock, tmp_path: Path) -> None:
    svc = Service(store, clock)
    rs = ruleset(
        tmp_path,
        rule(
            "fraud-hold",
            'when new order if tags contains "fraud_review" then tag "held", stop',
            priority=1000,
        ),
        rule("everyone", "when new order then allocate"),
    )
    svc.import_inventory([("MUG", "main", 5)])
    svc.add_orders(
        [order("SUSPECT", ("MUG", 1), tags=frozenset({"fraud_review"})), order("FINE", ("MUG", 1))]
    )
    result = Runner(svc, rs, clock, record=True).tick()
    assert statuses(svc, "SUSPECT", "FINE") == {"SUSPECT": "unallocated", "FINE": "allocated"}
    assert tags(svc, "SUSPECT") == {"fraud_review", "held"}
    assert svc.history("SUSPECT") == []
    assert result.plan is not None
    assert result.plan.orders["SUSPECT"].matched_rules == ("fraud-hold",)


def test_tag_and_untag_are_applied_and_shown_with_the_order(
    store: Store, clock: FakeClock, tmp_path: Path
) -> None:
    svc = Service(store, clock)
    rs = ruleset(
        tmp_path,
        rule("triage", 'when new order then tag "triaged", untag "new"', priority=5),
        rule("everyone", "when new order then allocate"),
    )
    svc.import_inventory([("MUG", "main", 1)])
    svc.add_orders([order("A1", ("MUG", 1), tags=frozenset({"new", "gift"}))])
    Runner(svc, rs, clock).tick()
    shown = svc.get_order("A1")  # what `dibs orders show A1` prints
    assert set(shown.tags) == {"gift", "triaged"}
    assert shown.allocation_status == "allocated"


@pytest.mark.parametrize(
    "first, second, expected, held",
    [
        ("allocate by unit", "allocate all or nothing", "partially_allocated", [1, 1]),
        ("allocate all or nothing", "allocate by unit", "could_not_allocate", [0, 0]),
        ("allocate", "allocate by unit", "partially_allocated", [0, 1]),  # by line
    ],
)
def test_the_first_matching_allocating_rule_decides_the_policy(
    store: Store,
    clock: FakeClock,
    tmp_path: Path,
    first: str,
    second: str,
    expected: str,
    held: list[int],
) -> None:
    svc = Service(store, clock)
    rs = ruleset(
        tmp_path,
        rule("higher", f"when new order then {first}", priority=10),
        rule("lower", f"when new order then {second}"),
    )
    svc.import_inventory([("MUG", "main", 1), ("CAP", "main", 5)])
    svc.add_orders([order("A1", ("MUG", 3), ("CAP", 1))])
    Runner(svc, rs, clock).tick()
    assert statuses(svc, "A1") == {"A1": expected}
    assert reserved(svc, "A1") == held
    assert {h["rule"] for h in svc.history("A1")} <= {"higher"}


def test_conditions_see_the_orders_as_they_were_when_the_tick_started(
    store: Store, clock: FakeClock, tmp_path: Path
) -> None:
    svc = Service(store, clock)
    rs = ruleset(
        tmp_path,
        rule("marks", 'when new order then tag "vip"', priority=10),
        rule("reads", 'when new order if tags contains "vip" then tag "saw-vip"'),
        rule(
            "status", 'when new order if allocation_status == "allocated" then tag "saw-allocated"'
        ),
        rule("alloc", "when new order then allocate", priority=20),
    )
    svc.import_inventory([("MUG", "main", 1)])
    svc.add_orders([order("A1", ("MUG", 1))])
    Runner(svc, rs, clock).tick()
    assert statuses(svc, "A1") == {"A1": "allocated"}
    assert tags(svc, "A1") == {"vip"}


# --------------------------------------------------------------------------------- actions


def test_deallocate_action_releases_every_reservation(
    store: Store, clock: FakeClock, tmp_path: Path
) -> None:
    svc = Service(store, clock)
    rs = ruleset(
        tmp_path,
        rule(
            "drop-overallocated",
            'when inventory changed if allocation_status == "overallocated" then deallocate',
        ),
    )
    svc.import_inventory([("MUG", "main", 3)])
    svc.add_orders([order("A1", ("MUG", 2)), order("B1", ("MUG", 1), minutes=1)])
    svc.allocate(["A1", "B1"])
    runner = Runner(svc, rs, clock)
    runner.tick()
    svc.change_stock("MUG", "main", -1, "adjusted")  # B1 (reserved last) loses cover
    assert statuses(svc, "A1", "B1") == {"A1": "allocated", "B1": "overallocated"}
    result = runner.tick()
    assert result.deallocated == ["B1"]
    assert statuses(svc, "A1", "B1") == {"A1": "allocated", "B1": "unallocated"}
    assert stock(svc, "MUG") == (2, 2, 0)
    last = svc.history("B1")[-1]
    assert (last["operation"], last["delta"], last["rule"], last["ruleset"]) == (
        "deallocate",
        -1,
        "drop-overallocated",
        rs.hash,
    )


def test_split_action_moves_unreserved_units_into_a_new_order(
    store: Store, clock: FakeClock, tmp_path: Path
) -> None:
    svc = Service(store, clock)
    rs = ruleset(
        tmp_path,
        rule("ship-what-we-have", 'when new order then allocate by unit, split, tag "split"'),
    )
    svc.import_inventory([("MUG", "main", 1)])
    svc.add_orders([order("A1", ("MUG", 3), channel="amazon", shipping_method="ground")])
    result = Runner(svc, rs, clock).tick()
    assert result.splits == [("A1", "A1-1")]
    kept, child = svc.get_order("A1"), svc.get_order("A1-1")
    assert [(x.sku, x.qty, x.reserved) for x in kept.lines] == [("MUG", 1, 1)]
    assert kept.allocation_status == "allocated"
    assert [(x.sku, x.qty, x.reserved) for x in child.lines] == [("MUG", 2, 0)]
    assert child.allocation_status == "unallocated"
    assert (child.channel, child.shipping_method, child.placed_at) == (
        kept.channel,
        kept.shipping_method,
        kept.placed_at,
    )
    assert "split" in child.tags and "split" in kept.tags


def test_a_fully_allocated_order_a_split_rule_leaves_whole_is_an_outcome_not_a_problem(
    store: Store, clock: FakeClock, tmp_path: Path
) -> None:
    """`then allocate, split` logged every order allocated whole (or not at all) as a tick
    problem: a normal tick's log was a list of them. Such an order is counted as not split,
    as a could-not-allocate order is counted, and the tick has no problem."""
    svc = Service(store, clock)
    rs = ruleset(tmp_path, rule("split-all", "when new order then allocate, split"))
    svc.import_inventory([("MUG", "main", 5)])
    svc.add_orders([order("A1", ("MUG", 1))])
    result = Runner(svc, rs, clock).tick()
    assert result.splits == []
    assert result.problems == []
    assert result.not_split == 1
    assert result.as_json()["not_split"] == 1 and result.as_json()["problems"] == []
    assert "1 not split" in result.summary() and "cannot split" not in result.summary()
    assert statuses(svc, "A1") == {"A1": "allocated"}


def test_a_split_rule_loads_only_the_orders_it_can_split(
    store: Store, clock: FakeClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`then allocate, split` over orders allocated whole, not at all, and in part: the refused
    ones are found by one query (`splits.split_refusals`), with the words `split` itself uses,
    and only the one it can split goes to `split_orders`."""
    from engine.errors import OperationFailed
    from engine.service import splits

    svc = Service(store, clock)
    svc.import_inventory([("MUG", "main", 3)])
    svc.add_orders(
        [
            order("WHOLE", ("MUG", 1), minutes=1),
            order("PART", ("MUG", 1), ("BOX", 1), minutes=2),
            order("NONE", ("BOX", 2), minutes=3),
        ]
    )
    called: list[str] = []
    split_orders = splits.split_orders

    def spy(tx: Any, ids: Any, actor: Any) -> Any:
        called.extend(ids)
        return split_orders(tx, ids, actor)

    monkeypatch.setattr(splits, "split_orders", spy)
    rs = ruleset(tmp_path, rule("ship-what-you-can", "when new order then allocate, split"))
    result = Runner(svc, rs, clock).tick()
    assert called == ["PART"]
    assert result.splits == [("PART", "PART-1")]
    assert statuses(svc, "WHOLE", "NONE") == {"WHOLE": "allocated", "NONE": "could_not_allocate"}
    for oid in ("WHOLE", "NONE"):  # what a split by hand refuses, a tick counts
        with pytest.raises(OperationFailed):
            svc.split(oid)
    assert result.not_split == 2 and result.problems == []


def test_many_failed_splits_make_one_short_log_line(
    store: Store, clock: FakeClock, tmp_path: Path
) -> None:
    """The summary names the first problems and counts the rest; the JSON keeps them all. A
    split that fails (the split-off order's id would be too long) is a problem."""
    from engine.model import Length
    from engine.run.runner import SHOWN_PROBLEMS

    svc = Service(store, clock)
    svc.import_inventory([("MUG", "main", 12)])
    rs = ruleset(tmp_path, rule("split-all", "when new order then allocate, split"))
    longest = [f"A{n:02d}".ljust(Length.ORDER_ID, "x") for n in range(12)]
    svc.add_orders([order(oid, ("MUG", 1), ("BOX", 1), minutes=1) for oid in longest])
    result = Runner(svc, rs, clock).tick()
    assert result.not_split == 0
    assert len(result.problems) == 12
    summary = result.summary()
    assert summary.count("cannot split") == SHOWN_PROBLEMS
    assert f"and {12 - SHOWN_PROBLEMS} more problems" in summary
    assert len(result.as_json()["problems"]) == 12


# ------------------------------------------------------------------------------- the outbox


def test_events_are_marked_processed_and_a_second_tick_does_nothing(
    store: Store, clock: FakeClock, tmp_path: Path
) -> None:
    svc = Service(store, clock)
    rs = ruleset(
        tmp_path,
        rule("everyone", "when new order then allocate"),
        rule("restock", "when inventory received then allocate"),
    )
    svc.import_inventory([("MUG", "main", 1)])
    svc.add_orders([order(f"A{i}", ("MUG", 1), minutes=i) for i in range(3)])
    assert pending_events(store) == 4
    runner = Runner(svc, rs, clock)
    first = runner.tick()
    assert first.events == 4
    assert pending_events(store) == 3  # its own news: three allocation.changed
    with store.read() as conn:
        marks = (
            conn.execute(select(events.c.processed_at).where(events.c.type != "allocation.changed"))
            .scalars()
            .all()
        )
    assert all(m is not None for m in marks)
    rows = ledger_count(store)
    # The first tick told its 3 status changes; no rule reacts to them, so the second tick
    # consumes them and changes nothing, and the third has nothing left to do.
    second = runner.tick()
    assert second.events == 3 and second.plan is not None and not second.plan.orders
    third = runner.tick()
    assert (third.events, third.schedules, third.did_something) == (0, [], False)
    assert ledger_count(store) == rows
    assert statuses(svc, "A0", "A1", "A2") == {
        "A0": "allocated",
        "A1": "could_not_allocate",
        "A2": "could_not_allocate",
    }
    # New stock is news: the restock rule gives the waiting orders another try, oldest first.
    svc.change_stock("MUG", "main", 1, "received")
    third = runner.tick()
    assert third.events == 1
    assert statuses(svc, "A1", "A2") == {"A1": "allocated", "A2": "could_not_allocate"}


def test_a_dry_run_tick_leaves_events_pending_and_writes_nothing(
    store: Store, clock: FakeClock, tmp_path: Path
) -> None:
    svc = Service(store, clock)
    rs = ruleset(
        tmp_path,
        rule("everyone", "when new order then allocate"),
        rule("sweep", 'every 5 minutes then tag "swept"'),
    )
    svc.import_inventory([("MUG", "main", 1)])
    svc.add_orders([order("A1", ("MUG", 1))])
    result = Runner(svc, rs, clock).tick(dry_run=True)
    assert result.report.counts() == {"allocated": 1}
    assert pending_events(store) == 2
    assert statuses(svc, "A1") == {"A1": "unallocated"}
    assert slots(store, "sweep") == []
    assert tags(svc, "A1") == set()
