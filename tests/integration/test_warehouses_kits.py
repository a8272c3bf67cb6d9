"""SPEC §12 warehouses and kits through `Service`, on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from engine.errors import BadInput, OperationFailed
from engine.model import Policy
from engine.run.explain import explain
from engine.run.runner import Runner
from engine.service import Service
from engine.store import Store, reservations
from rules.loader import load_ruleset
from tests.helpers import order
from tests.integration.helpers import dump, event_rows, reserved, status, stock


@pytest.fixture
def svc(store: Store, clock: Callable[[], datetime]) -> Service:
    return Service(store, clock)


def stocked(svc: Service, rows: dict[tuple[str, str], int]) -> None:
    svc.import_inventory([(sku, wh, qty) for (sku, wh), qty in rows.items()])


def held(svc: Service, oid: str) -> list[tuple[int, str, str, int]]:
    """(line, sku, warehouse, qty) of an order's reservations, in reservation order."""
    with svc.store.read() as conn:
        return [
            (r.line_no, r.sku, r.warehouse, r.qty)
            for r in conn.execute(
                select(reservations)
                .where(reservations.c.order_id == oid)
                .order_by(reservations.c.seq)
            )
        ]


def lines_json(svc: Service, oid: str) -> list[tuple[str, int, dict[str, int]]]:
    doc = svc.order_document(oid)
    return [(x["sku"], x["reserved"], x["warehouses"]) for x in doc["lines"]]


# ============================================================================ from [...]


class TestChoosingWarehouses:
    def test_the_first_warehouse_that_completes_the_order_takes_it_whole(
        self, svc: Service
    ) -> None:
        stocked(svc, {("A", "east"): 5, ("B", "east"): 0, ("A", "west"): 5, ("B", "west"): 5})
        svc.add_orders([order("O1", ("A", 2), ("B", 1))])
        report = svc.allocate(["O1"], warehouses=["east", "west"])
        assert report.results[0]["after"] == "allocated"
        assert held(svc, "O1") == [(1, "A", "west", 2), (2, "B", "west", 1)]
        assert lines_json(svc, "O1") == [("A", 2, {"west": 2}), ("B", 1, {"west": 1})]
        assert stock(svc, "A", "east") == (5, 0, 5)
        history = svc.history("O1")
        assert [(h["sku"], h["warehouse"], h["delta"]) for h in history] == [
            ("A", "west", 2),
            ("B", "west", 1),
        ]

    @pytest.mark.parametrize(
        ("policy", "expected", "after"),
        [
            (Policy.LINES, [(1, "A", "west", 3), (2, "B", "east", 2)], "allocated"),
            (
                Policy.UNITS,
                [(1, "A", "east", 1), (1, "A", "west", 2), (2, "B", "east", 2)],
                "allocated",
            ),
            (Policy.ALL_OR_NOTHING, [(1, "A", "west", 3), (2, "B", "east", 2)], "allocated"),
        ],
    )
    def test_otherwise_each_policy_spills_along_the_list(
        self, svc: Service, policy: Policy, expected: list[tuple[int, str, str, int]], after: str
    ) -> None:
        stocked(svc, {("A", "east"): 1, ("A", "west"): 5, ("B", "east"): 2})
        svc.add_orders([order("O1", ("A", 3), ("B", 2))])
        assert (
            svc.allocate(["O1"], policy=policy, warehouses=["east", "west"]).results[0]["after"]
            == after
        )
        assert held(svc, "O1") == expected

    def test_all_or_nothing_reserves_nothing_when_a_line_cannot_be_completed(
        self, svc: Service
    ) -> None:
        stocked(svc, {("A", "east"): 5, ("B", "west"): 1})
        svc.add_orders([order("O1", ("A", 1), ("B", 2))])
        svc.allocate(["O1"], policy=Policy.ALL_OR_NOTHING, warehouses=["east", "west"])
        assert held(svc, "O1") == [] and status(svc, "O1") == "could_not_allocate"
        assert stock(svc, "A", "east") == (5, 0, 5)

    def test_without_from_the_order_reserves_in_its_own_warehouse(self, svc: Service) -> None:
        stocked(svc, {("A", "east"): 5, ("A", "main"): 0})
        svc.add_orders([order("O1", ("A", 1)), order("O2", ("A", 1), warehouse="east")])
        svc.allocate(["O1", "O2"])
        assert status(svc, "O1") == "could_not_allocate"
        assert held(svc, "O2") == [(1, "A", "east", 1)]

    @pytest.mark.parametrize(
        ("names", "message"),
        [
            (["east", "nowhere"], "no stock row exists in warehouse 'nowhere'"),
            (["east", "east"], "listed twice"),
            (["east", " "], "give warehouse names"),
        ],
    )
    def test_bad_from_lists_are_refused_and_write_nothing(
        self, svc: Service, store: Store, names: list[str], message: str
    ) -> None:
        stocked(svc, {("A", "east"): 5})
        svc.add_orders([order("O1", ("A", 1))])
        before = dump(store)
        with pytest.raises(BadInput, match=message):
            svc.allocate(["O1"], warehouses=names)
        with pytest.raises(BadInput, match=message):
            svc.reallocate(["O1"], warehouses=names)
        assert dump(store) == before

    def test_an_unknown_from_warehouse_hints_at_the_known_ones(self, svc: Service) -> None:
        """The hint is the service's, so the API's `from` gets it too (not the CLI's
        `dibs inventory list`): the closest warehouse with stock, else those there are."""
        stocked(svc, {("A", "east"): 5, ("A", "west"): 5})
        svc.add_orders([order("O1", ("A", 1))])
        with pytest.raises(BadInput) as typo:
            svc.allocate(["O1"], warehouses=["eats"])
        assert str(typo.value).endswith("in warehouse 'eats'; did you mean 'east'?")
        with pytest.raises(BadInput) as far:
            svc.allocate(["O1"], warehouses=["east", "nowhere"])
        assert str(far.value).endswith(
            "in warehouse 'nowhere'; the warehouses with stock: east, west"
        )

    def test_shipping_takes_reserved_units_from_their_warehouse_the_rest_from_home(
        self, svc: Service
    ) -> None:
        stocked(svc, {("A", "east"): 1, ("A", "west"): 1, ("A", "main"): 5})
        svc.add_orders([order("O1", ("A", 3))])
        svc.allocate(["O1"], policy=Policy.UNITS, warehouses=["east", "west"])
        assert reserved(svc, "O1") == [2]
        svc.finish(["O1"], "ship")
        assert stock(svc, "A", "east") == (0, 0, 0)
        assert stock(svc, "A", "west") == (0, 0, 0)
        assert stock(svc, "A", "main") == (4, 0, 4)
        shipped = event_rows(svc.store, "order.shipped")[-1]["payload"]
        assert shipped == {
            "stock": [
                {"sku": "A", "warehouse": "east", "qty": 1},
                {"sku": "A", "warehouse": "main", "qty": 1},
                {"sku": "A", "warehouse": "west", "qty": 1},
            ]
        }

    def test_coverage_stays_per_sku_and_warehouse(self, svc: Service) -> None:
        stocked(svc, {("A", "east"): 2, ("A", "west"): 2})
        svc.add_orders([order("O1", ("A", 4))])
        svc.allocate(["O1"], policy=Policy.UNITS, warehouses=["east", "west"])
        assert status(svc, "O1") == "allocated"
        svc.change_stock("A", "west", -1, "adjusted")
        assert status(svc, "O1") == "overallocated"
        doc = explain(svc, "O1")
        west = [r for r in doc["lines"][0]["reservations"] if r["warehouse"] == "west"]
        assert west == [{"sku": "A", "warehouse": "west", "qty": 2, "covered": False}]
        assert doc["lines"][0]["cover_taken_by"][0]["warehouse"] == "west"
        svc.change_stock("A", "west", 1, "received")
        assert status(svc, "O1") == "allocated"

    def test_editing_trims_the_newest_reservation_wherever_it_is(self, svc: Service) -> None:
        stocked(svc, {("A", "east"): 1, ("A", "west"): 2})  # neither completes the order
        svc.add_orders([order("O1", ("A", 3))])
        svc.allocate(["O1"], policy=Policy.UNITS, warehouses=["east", "west"])
        assert held(svc, "O1") == [(1, "A", "east", 1), (1, "A", "west", 2)]
        svc.edit("O1", [("A", 1)])
        assert held(svc, "O1") == [(1, "A", "east", 1)]
        assert stock(svc, "A", "west") == (2, 0, 2)
        assert [(h["warehouse"], h["delta"]) for h in svc.history("O1")][-1] == ("west", -2)

    def test_explain_names_each_warehouse_tried_and_what_it_lacks(self, svc: Service) -> None:
        stocked(svc, {("A", "east"): 1, ("B", "west"): 1})
        svc.add_orders([order("O1", ("A", 2), ("B", 1))])
        svc.allocate(["O1"], policy=Policy.ALL_OR_NOTHING, warehouses=["east", "west"])
        doc = explain(svc, "O1", warehouses=["east", "west"])
        assert doc["warehouses"] == [
            {
                "warehouse": "east",
                "complete": False,
                "lacks": [
                    {"sku": "A", "need": 2, "available": 1},
                    {"sku": "B", "need": 1, "available": 0},
                ],
            },
            {
                "warehouse": "west",
                "complete": False,
                "lacks": [{"sku": "A", "need": 2, "available": 0}],
            },
        ]
        assert "tried east (lacks 1 A, 1 B), west (lacks 2 A)" in doc["summary"]


# ================================================================================== kits


GIFT = {"GIFTBOX": [("MUG", 1), ("TEA", 2)]}


class TestKits:
    def test_a_kit_lists_its_components_and_available_kit_units(self, svc: Service) -> None:
        stocked(svc, {("MUG", "main"): 5, ("TEA", "main"): 7, ("MUG", "east"): 1})
        assert svc.set_kits(GIFT) == [
            {
                "kit": "GIFTBOX",
                "components": [{"sku": "MUG", "qty": 1}, {"sku": "TEA", "qty": 2}],
                "available": 3,
                "warehouses": {"east": 0, "main": 3},
            }
        ]
        rows = [r for r in svc.list_inventory() if r.get("kit")]
        assert rows == [
            {
                "sku": "GIFTBOX",
                "warehouse": "east",
                "on_hand": None,
                "allocated": None,
                "available": 0,
                "kit": True,
            },
            {
                "sku": "GIFTBOX",
                "warehouse": "main",
                "on_hand": None,
                "allocated": None,
                "available": 3,
                "kit": True,
            },
        ]
        assert [r["sku"] for r in svc.list_inventory("GIFTBOX")] == ["GIFTBOX", "GIFTBOX"]

    def test_lines_reserve_the_whole_kit_line_or_nothing(self, svc: Service) -> None:
        stocked(svc, {("MUG", "main"): 5, ("TEA", "main"): 5})
        svc.set_kits(GIFT)
        svc.add_orders([order("O1", ("GIFTBOX", 3)), order("O2", ("GIFTBOX", 2), minutes=1)])
        svc.allocate(["O1", "O2"])
        assert status(svc, "O1") == "could_not_allocate"  # 3 kits need 6 TEA
        assert held(svc, "O2") == [(1, "MUG", "main", 2), (1, "TEA", "main", 4)]
        assert lines_json(svc, "O2") == [("GIFTBOX", 2, {"main": 2})]
        assert stock(svc, "TEA") == (5, 4, 1) and stock(svc, "MUG") == (5, 2, 3)

    def test_units_reserve_whole_kit_units(self, svc: Service) -> None:
        stocked(svc, {("MUG", "main"): 5, ("TEA", "main"): 5})
        svc.set_kits(GIFT)
        svc.add_orders([order("O1", ("GIFTBOX", 3))])
        svc.allocate(["O1"], policy=Policy.UNITS)
        assert reserved(svc, "O1") == [2] and status(svc, "O1") == "partially_allocated"
        assert held(svc, "O1") == [(1, "MUG", "main", 2), (1, "TEA", "main", 4)]

    def test_a_kit_line_is_covered_only_while_every_component_is(self, svc: Service) -> None:
        stocked(svc, {("MUG", "main"): 2, ("TEA", "main"): 4})
        svc.set_kits(GIFT)
        svc.add_orders([order("O1", ("GIFTBOX", 2))])
        svc.allocate(["O1"])
        svc.change_stock("TEA", "main", 3, "set")
        assert status(svc, "O1") == "overallocated"
        svc.change_stock("TEA", "main", 4, "set")
        assert status(svc, "O1") == "allocated"

    def test_shipping_a_kit_line_lowers_its_components(self, svc: Service) -> None:
        stocked(svc, {("MUG", "main"): 5, ("TEA", "main"): 5})
        svc.set_kits(GIFT)
        svc.add_orders([order("O1", ("GIFTBOX", 2), ("MUG", 1)), order("O2", ("GIFTBOX", 1))])
        svc.allocate(["O1"])
        svc.finish(["O1", "O2"], "ship")  # O2 ships unreserved: from its own warehouse
        assert stock(svc, "MUG") == (5 - 3 - 1, 0, 1)
        assert stock(svc, "TEA") == (5 - 4 - 2, 0, -1)
        assert not [r for r in svc.list_inventory() if r["sku"] == "GIFTBOX" and r.get("on_hand")]

    def test_a_kit_from_a_list_of_warehouses_never_splits_a_kit_unit(self, svc: Service) -> None:
        stocked(
            svc, {("MUG", "east"): 1, ("TEA", "east"): 4, ("MUG", "west"): 3, ("TEA", "west"): 2}
        )
        svc.set_kits(GIFT)
        svc.add_orders([order("O1", ("GIFTBOX", 2))])
        svc.allocate(["O1"], policy=Policy.UNITS, warehouses=["east", "west"])
        assert held(svc, "O1") == [
            (1, "MUG", "east", 1),
            (1, "TEA", "east", 2),
            (1, "MUG", "west", 1),
            (1, "TEA", "west", 2),
        ]
        assert lines_json(svc, "O1") == [("GIFTBOX", 2, {"east": 1, "west": 1})]

    def test_editing_a_kit_line_trims_every_component(self, svc: Service) -> None:
        stocked(svc, {("MUG", "main"): 5, ("TEA", "main"): 10})
        svc.set_kits(GIFT)
        svc.add_orders([order("O1", ("GIFTBOX", 3))])
        svc.allocate(["O1"])
        svc.edit("O1", [("GIFTBOX", 1)])
        assert held(svc, "O1") == [(1, "MUG", "main", 1), (1, "TEA", "main", 2)]
        assert stock(svc, "MUG") == (5, 1, 4) and stock(svc, "TEA") == (10, 2, 8)
        assert [h["delta"] for h in svc.history("O1")][-2:] == [-2, -4]  # MUG, TEA

    def test_splitting_keeps_the_reserved_kit_units(self, svc: Service) -> None:
        stocked(svc, {("MUG", "main"): 5, ("TEA", "main"): 4})
        svc.set_kits(GIFT)
        svc.add_orders([order("O1", ("GIFTBOX", 3))])
        svc.allocate(["O1"], policy=Policy.UNITS)
        kept, child = svc.split("O1")
        assert [(x.sku, x.qty, x.reserved) for x in kept.lines] == [("GIFTBOX", 2, 2)]
        assert [(x.sku, x.qty) for x in child.lines] == [("GIFTBOX", 1)]
        assert kept.allocation_status == "allocated"

    @pytest.mark.parametrize(
        ("definitions", "message"),
        [
            ({"X": [("X", 1)]}, "cannot contain itself"),
            ({"BIG": [("GIFTBOX", 1)]}, "kits do not nest"),
            ({"MUG": [("SPOON", 1)]}, "component of kit 'GIFTBOX'"),
            ({"SPOON": [("A", 1)], "B2": [("SPOON", 1)]}, "kits do not nest"),
            ({"CUP": [("A", 1)]}, "has stock of its own in 'main'"),
        ],
    )
    def test_kit_errors_are_refused_and_write_nothing(
        self,
        svc: Service,
        store: Store,
        definitions: dict[str, list[tuple[str, int]]],
        message: str,
    ) -> None:
        stocked(svc, {("MUG", "main"): 5, ("CUP", "main"): 1})
        svc.set_kits(GIFT)
        before = dump(store)
        with pytest.raises(BadInput, match=message):
            svc.set_kits(definitions)
        assert dump(store) == before

    def test_stock_cannot_be_set_on_a_kit(self, svc: Service, store: Store) -> None:
        svc.set_kits(GIFT)
        before = dump(store)
        for kind in ("set", "adjusted", "received"):
            with pytest.raises(BadInput, match="'GIFTBOX' is a kit"):
                svc.change_stock("GIFTBOX", "main", 1, kind)
        with pytest.raises(BadInput, match="'GIFTBOX' is a kit"):
            svc.import_inventory([("MUG", "main", 1), ("GIFTBOX", "main", 3)])
        assert dump(store) == before

    def test_a_kit_held_by_open_orders_cannot_change_or_go(
        self, svc: Service, store: Store
    ) -> None:
        stocked(svc, {("MUG", "main"): 5, ("TEA", "main"): 5})
        svc.set_kits(GIFT)
        svc.add_orders([order("O1", ("GIFTBOX", 1))])
        svc.allocate(["O1"])
        before = dump(store)
        with pytest.raises(OperationFailed, match="open orders hold reservations for it \\(O1\\)"):
            svc.remove_kit("GIFTBOX")
        with pytest.raises(OperationFailed, match="cannot change kit 'GIFTBOX'"):
            svc.set_kits({"GIFTBOX": [("MUG", 2)]})
        assert dump(store) == before
        svc.set_kits({"GIFTBOX": [("TEA", 2), ("MUG", 1)]})  # the same definition: fine
        svc.deallocate(["O1"])
        svc.set_kits({"GIFTBOX": [("MUG", 2)]})
        svc.remove_kit("GIFTBOX")
        assert svc.list_kits() == []
        with pytest.raises(OperationFailed, match="no kit 'GIFTBOX'"):
            svc.remove_kit("GIFTBOX")

    def test_explain_names_the_short_component(self, svc: Service) -> None:
        stocked(svc, {("MUG", "main"): 5, ("TEA", "main"): 1})
        svc.set_kits(GIFT)
        svc.add_orders([order("O1", ("GIFTBOX", 1))])
        svc.allocate(["O1"])
        doc = explain(svc, "O1")
        line = doc["lines"][0]
        assert line["kit"] is True and line["short_components"] == ["TEA"]
        assert line["components"] == [
            {"sku": "MUG", "per_kit": 1, "need": 1, "available": 5},
            {"sku": "TEA", "per_kit": 2, "need": 2, "available": 1},
        ]
        assert "GIFTBOX (short component TEA)" in doc["summary"]


# ================================================================================= rules

RULES = """\
version: 1
rules:
  - name: gifts-from-east
    priority: 10
    rule: when new order if skus contains "GIFTBOX" then allocate by unit from ["east", "main"]
  - name: the-rest
    rule: when new order then allocate all or nothing from ["main", "east"]
  - name: restock
    rule: when inventory received then allocate
"""


def test_rules_allocate_from_lists_and_see_kits_as_ordered(svc: Service, tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(RULES)
    ruleset = load_ruleset(path)
    stocked(svc, {("MUG", "east"): 1, ("TEA", "east"): 2, ("MUG", "main"): 3, ("TEA", "main"): 2})
    svc.set_kits(GIFT)
    svc.add_orders([order("G1", ("GIFTBOX", 2)), order("P1", ("MUG", 1), minutes=1)])
    result = Runner(svc, ruleset).tick()
    assert result.matches == {"gifts-from-east": 1, "the-rest": 2}
    assert held(svc, "G1") == [
        (1, "MUG", "east", 1),
        (1, "TEA", "east", 2),
        (1, "MUG", "main", 1),
        (1, "TEA", "main", 2),
    ]
    assert held(svc, "P1") == [(1, "MUG", "main", 1)]
    doc = explain(svc, "G1", ruleset)
    assert doc["lines"][0]["warehouse"] == "east"  # the deciding rule's first warehouse


def test_receiving_a_component_offers_orders_with_its_kit(svc: Service, tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(RULES)
    ruleset = load_ruleset(path)
    svc.set_kits(GIFT)
    svc.add_orders([order("G1", ("GIFTBOX", 1))])
    stocked(svc, {("MUG", "main"): 1})
    Runner(svc, ruleset).tick()
    assert status(svc, "G1") == "could_not_allocate"
    svc.change_stock("TEA", "main", 2, "received")
    result = Runner(svc, ruleset).tick()
    assert result.matches.get("restock") == 1
    assert status(svc, "G1") == "allocated"
