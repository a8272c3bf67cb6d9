"""What a QA pass over warehouses, kits, events out and the HTTP API found, through `dibs`."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from tests.e2e.conftest import Dibs


def test_explain_names_the_component_whose_stock_fell_not_the_kit(dibs: Dibs) -> None:
    dibs("inventory", "set", "MUG", "1", "--warehouse", "east")
    dibs("inventory", "set", "TEA", "2", "--warehouse", "east")
    dibs("kits", "set", "GIFTBOX", "MUG:1", "TEA:2")
    dibs("orders", "add", "K1", "--channel", "web", "--line", "GIFTBOX:1", "--warehouse", "east")
    dibs("allocate", "K1")
    dibs("inventory", "adjust", "TEA", "-1", "--warehouse", "east")
    out = dibs("explain", "K1").stdout
    assert "cover of TEA @ east taken by: inventory adjusted (-1)" in out


def test_events_since_takes_a_time_with_an_offset_as_the_instant_it_names(dibs: Dibs) -> None:
    dibs("inventory", "set", "MUG", "1")
    (event,) = dibs.json("events", "list")
    at = datetime.fromisoformat(event["at"].replace("Z", "+00:00"))
    earlier = (at - timedelta(minutes=1)).astimezone(timezone(timedelta(hours=2)))
    later = (at + timedelta(minutes=1)).astimezone(timezone(timedelta(hours=-5)))
    assert [e["id"] for e in dibs.json("events", "list", "--since", earlier.isoformat())] == [
        event["id"]
    ]
    assert dibs.json("events", "list", "--since", later.isoformat()) == []


def test_explain_from_checks_its_warehouses_as_allocate_from_does(dibs: Dibs) -> None:
    dibs("inventory", "set", "MUG", "2", "--warehouse", "east")
    dibs("orders", "add", "A", "--channel", "web", "--line", "MUG:3")
    for bad in ("nowhere", "east,east", "", "east,"):
        assert "--from" in dibs("explain", "A", "--from", bad, expect=2).stderr
    # Names are trimmed, as for allocate: " east" is east, which has 2 of the 3 mugs.
    doc = dibs.json("explain", "A", "--from", " east")
    assert doc["warehouses"] == [
        {
            "warehouse": "east",
            "complete": False,
            "lacks": [{"sku": "MUG", "need": 3, "available": 2}],
        }
    ]


def test_a_command_of_its_own_typed_under_a_group_is_pointed_at(dibs: Dibs) -> None:
    # `explain` and `history` are about one order, but they are not `orders` subcommands.
    for word in ("explain", "history", "allocate"):
        err = dibs("orders", word, "A", expect=2).stderr
        assert f"unknown command {word!r}" in err
        assert f"`dibs {word}` is a command of its own" in err
    assert "of its own" not in dibs("orders", "shipp", "A", expect=2).stderr  # did you mean


def test_inventory_list_trims_its_sku_as_inventory_set_does(dibs: Dibs) -> None:
    dibs("inventory", "set", " MUG ", "3")
    assert [r["sku"] for r in dibs.json("inventory", "list", "--sku", " MUG ")] == ["MUG"]
