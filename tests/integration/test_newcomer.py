"""What a newcomer tripped over (issue #16), on SQLite and PostgreSQL: listings that filter by
every kind at once and print whole orders, closed orders and rules, previews that list only
changes, the ship guard, `dibs status` and `explain` of an overallocated order."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from engine.model import Actor
from engine.run.explain import explain
from engine.run.preview import preview
from engine.run.runner import Runner
from engine.run.status import status
from engine.service import Service, order_json
from engine.service.read import OrderQuery
from engine.store import Store
from engine.store.where import where_clause
from rules.loader import load_ruleset
from tests.helpers import order, snapshot


def _rules(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text("version: 1\nrules:\n" + body)
    return path


def _shop(service: Service) -> None:
    service.change_stock("MUG", "main", 2, "set")
    service.add_orders(
        [
            order("A", ("MUG", 1), channel="amazon", tags=frozenset({"vip"})),
            order("B", ("MUG", 1), ("CAP", 1), minutes=1, channel="web"),
            order("C", ("MUG", 1), minutes=2, channel="web", tags=frozenset({"vip", "gift"})),
            order("D", ("CAP", 2), minutes=3, channel="amazon", warehouse="east"),
        ]
    )


def _ids(service: Service, **kw: object) -> list[str]:
    return [r["id"] for r in service.list_orders(OrderQuery(**kw))]  # type: ignore[arg-type]


def test_listing_defaults_to_open_orders_and_ands_every_filter(store: Store, clock) -> None:
    service = Service(store, clock)
    _shop(service)
    service.allocate(["A", "B"])  # A allocated; B partially (no CAP)
    service.finish(["A"], "ship")
    assert _ids(service) == ["B", "C", "D"]  # shipped A is not open
    assert _ids(service, include_closed=True) == ["A", "B", "C", "D"]
    assert _ids(service, statuses=["shipped"]) == ["A"]
    # SPEC §3 makes a shipped order `unallocated`; the default keeps it out of that list.
    assert _ids(service, statuses=["unallocated"]) == ["C", "D"]
    # A status and an allocation status: both must hold (not either).
    assert _ids(service, statuses=["shipped", "unallocated"]) == ["A"]
    assert _ids(service, statuses=["awaiting_fulfillment", "partially_allocated"]) == ["B"]
    assert _ids(service, channel="amazon") == ["D"]
    assert _ids(service, warehouse="east") == ["D"]
    assert _ids(service, tags=["vip"], include_closed=True) == ["A", "C"]
    assert _ids(service, tags=["vip", "gift"]) == ["C"]
    assert _ids(service, skus=["CAP"]) == ["B", "D"]
    assert _ids(service, skus=["CAP", "MUG"]) == ["B"]
    now = datetime(2026, 11, 1, tzinfo=UTC)
    assert _ids(service, where=where_clause('channel == "web" and line_count == 1', now)) == ["C"]


def test_order_documents_are_the_orders_show_objects(store: Store, clock) -> None:
    service = Service(store, clock)
    _shop(service)
    service.allocate(["B"])
    documents = service.order_documents(OrderQuery(include_closed=True))
    assert documents == [order_json(service.get_order(oid)) for oid in ("A", "B", "C", "D")]
    assert documents[1]["lines"] == [
        {"sku": "MUG", "qty": 1, "reserved": 1, "warehouses": {"main": 1}},
        {"sku": "CAP", "qty": 1, "reserved": 0, "warehouses": {}},
    ]
    assert service.known_values("channel") == ["amazon", "web"]
    assert service.known_values("tag") == ["gift", "vip"]
    assert service.known_values("warehouse") == ["east", "main"]
    assert service.known_values("sku") == ["CAP", "MUG"]


def test_a_closed_order_is_never_offered_to_a_rule(store: Store, clock, tmp_path: Path) -> None:
    service = Service(store, clock)
    service.change_stock("MUG", "main", 5, "set")
    service.add_orders([order("GONE", ("MUG", 1)), order("HERE", ("MUG", 1), minutes=1)])
    service.finish(["GONE"], "cancel")  # its order.created is still pending
    ruleset = load_ruleset(
        _rules(tmp_path, '  - name: all\n    rule: when new order then tag "seen", allocate\n')
    )
    predicted = preview(service, ruleset)
    assert set(predicted.orders) == {"HERE"}  # not GONE as "(new) -> (new)"
    result = Runner(service, ruleset, clock, record=True).tick()
    assert result.plan is not None and set(result.plan.orders) == {"HERE"}
    gone = service.get_order("GONE")
    assert (gone.status, gone.tags) == ("cancelled", frozenset())


def test_new_order_rules_still_see_an_order_a_person_allocated(
    store: Store, clock, tmp_path: Path
) -> None:
    """The decision (docs/concepts.md): a pending `order.created` is the order's arrival; its
    rules still run after a manual allocate: their tags apply, an allocate changes nothing.
    The preview lists the orders that change and counts the others."""
    service = Service(store, clock)
    service.change_stock("MUG", "main", 1, "set")
    service.add_orders([order("MANUAL", ("MUG", 1)), order("NEW", ("MUG", 1), minutes=1)])
    service.allocate(["MANUAL"])
    ruleset = load_ruleset(
        _rules(tmp_path, "  - name: all\n    rule: when new order then allocate\n")
    )
    predicted = preview(service, ruleset)
    summary = predicted.summary()
    assert summary["orders_matched"] == 2
    assert summary["unchanged"] == 1  # MANUAL: allocated -> allocated, counted, not a change
    assert not predicted.orders["MANUAL"].changes
    assert predicted.orders["NEW"].changes
    assert (predicted.orders["NEW"].before, predicted.orders["NEW"].after) == (
        "unallocated",
        "could_not_allocate",
    )
    tagging = '  - name: seen\n    priority: 5\n    rule: when new order then tag "seen"\n'
    ruleset = load_ruleset(
        _rules(tmp_path, tagging + "  - name: all\n    rule: when new order then allocate\n")
    )
    Runner(service, ruleset, clock).tick()
    manual = service.get_order("MANUAL")
    assert (manual.allocation_status, manual.tags) == ("allocated", frozenset({"seen"}))


def test_shipping_an_unallocated_order_names_who_would_lose_cover(store: Store, clock) -> None:
    service = Service(store, clock)
    service.change_stock("MUG", "main", 2, "set")
    service.add_orders(
        [
            order("HOLDER", ("MUG", 1)),
            order("LATER", ("MUG", 1), minutes=1),
            order("LOOSE", ("MUG", 1), minutes=2),
        ]
    )
    service.allocate(["HOLDER", "LATER"])
    before = snapshot(store)
    assert service.cover_lost_by_shipping(["LOOSE"]) == ["LATER"]  # the newest reservation
    assert snapshot(store) == before  # a dry run
    assert service.cover_lost_by_shipping(["HOLDER"]) == []  # its own stock: nobody loses
    service.change_stock("MUG", "main", 3, "set")
    assert service.cover_lost_by_shipping(["LOOSE"]) == []  # a spare unit is on the shelf


def test_status_reads_the_outbox_schedules_and_what_is_short(
    store: Store, clock, tmp_path: Path
) -> None:
    service = Service(store, clock)
    service.change_stock("MUG", "main", 2, "set")
    service.add_orders([order("A", ("MUG", 2)), order("B", ("MUG", 3), minutes=1)])
    ruleset = load_ruleset(
        _rules(tmp_path, "  - name: sweep\n    rule: every 30 minutes then allocate\n")
    )
    doc = status(service, ruleset)
    assert doc["pending_events"]["count"] == 3  # two orders and the stock change
    assert doc["pending_events"]["by_type"] == {"inventory.changed": 1, "order.created": 2}
    assert doc["last_tick"] is None
    assert doc["schedules"] == [
        {"rule": "sweep", "last_run": None, "next_due": doc["at"], "due_now": True}
    ]
    assert doc["short"] == [
        {
            "sku": "MUG",
            "warehouse": "main",
            "on_hand": 2,
            "allocated": 0,
            "available": 2,
            "waiting": 5,
            "short": 3,
        }
    ]
    Runner(service, ruleset, clock).tick()
    service.change_stock("MUG", "main", 1, "set")  # A now holds 2 units of 1: overallocated
    doc = status(service, ruleset)
    # The stock change, plus the allocation.changed events (SPEC §13) of the tick and the drop.
    pending = doc["pending_events"]
    assert pending["by_type"]["inventory.changed"] == 1
    assert set(pending["by_type"]) == {"inventory.changed", "allocation.changed"}
    assert pending["count"] == sum(pending["by_type"].values())
    assert doc["last_tick"] is not None
    assert doc["schedules"][0]["due_now"] is False
    assert doc["schedules"][0]["next_due"] > doc["schedules"][0]["last_run"]
    assert doc["overallocated"] == {"count": 1, "first": ["A"]}
    assert doc["open_orders"] == {"could_not_allocate": 1, "overallocated": 1}
    assert doc["short"][0]["short"] == 4  # B's 3 units, and 1 reserved unit without stock


def test_explain_of_an_overallocated_order_shows_it_among_the_holders(store: Store, clock) -> None:
    service = Service(store, clock)
    service.change_stock("MUG", "main", 2, "set")
    service.add_orders([order("FIRST", ("MUG", 1)), order("SECOND", ("MUG", 1), minutes=1)])
    service.allocate(["FIRST", "SECOND"])
    service.change_stock("MUG", "main", -1, "adjusted", Actor())
    doc = explain(service, "SECOND")
    assert doc["allocation_status"] == "overallocated"
    assert doc["lines"][0]["held_by"] == [
        {
            "order": "FIRST",
            "this_order": False,
            "qty": 1,
            "reserved_at": doc["lines"][0]["held_by"][0]["reserved_at"],
            "covered": True,
        },
        {
            "order": "SECOND",
            "this_order": True,
            "qty": 1,
            "reserved_at": doc["lines"][0]["held_by"][1]["reserved_at"],
            "covered": False,
        },
    ]
