"""The dashboard's writes through Starlette's client, on SQLite and PostgreSQL: a bulk action
shows its dry run and writes nothing until confirmed; stock forms; rule-file previews."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import func, select

from engine.store import orders
from tests.integration.web.dashboard.conftest import RULES, Dash, page_text, seed


def _act(dash: Dash, action: str, ids: list[str] | None = None, **form: Any) -> Any:
    data: dict[str, Any] = {"action": action, "back": "/", **form}
    if ids is not None:
        data["ids"] = ids
    return dash.post("/orders/actions", data)


def _order_count(dash: Dash) -> int:
    with dash.service.store.read() as conn:
        return int(conn.execute(select(func.count()).select_from(orders)).scalar_one())


def test_allocate_shows_the_dry_run_then_applies_on_confirm(signed: Dash) -> None:
    seed(signed.service)
    signed.service.change_stock("W", "main", 10, "received")
    preview = _act(signed, "allocate", ["B", "C"])
    assert preview.status_code == 200
    text = page_text(preview)
    assert "dry run, nothing written yet" in text
    assert "Allocate: 2 orders, 2 would change; 6 units reserved" in text
    assert "W main 13 → 13 11 → 6" in text  # stock: on hand, then available
    assert signed.status("B") == "could_not_allocate" and signed.status("C") == "unallocated"
    hidden = dict(re.findall(r'type="hidden" name="(\w+)" value="([^"]*)"', preview.text))
    assert hidden["confirm"] == "1" and hidden["action"] == "allocate"
    assert re.findall(r'name="ids" value="([^"]+)"', preview.text) == ["B", "C"]

    done = _act(signed, "allocate", ["B", "C"], confirm="1")
    assert done.status_code == 303 and done.headers["location"] == "/"
    assert signed.status("B") == "allocated" and signed.status("C") == "allocated"
    after = page_text(signed.get("/"))  # the result, once, on the page it returns to
    assert "Allocate: 2 orders, 2 changed; 6 units reserved" in after
    assert "B: Could not allocate → Allocated (reserved 0 → 5)" in after  # words, not names
    assert "Allocate: 2 orders" not in page_text(signed.get("/"))


def test_every_matching_order_follows_the_filter(signed: Dash) -> None:
    seed(signed.service)
    filters = {"scope": "matching", "tab": "all", "channel": "shop"}
    preview = page_text(_act(signed, "deallocate", **filters))
    assert "Deallocate: 2 orders, 2 would change; 2 units released" in preview
    assert signed.status("A") == "allocated"
    _act(signed, "deallocate", confirm="1", **filters)
    assert signed.status("A") == "unallocated" and signed.status("C") == "unallocated"
    bad = _act(signed, "allocate", scope="matching", where="total >")
    assert bad.status_code == 400 and "condition:1:" in page_text(bad)
    none = _act(signed, "allocate", scope="matching", channel="nowhere")
    assert none.status_code == 400 and "No open order matches" in page_text(none)
    nothing = _act(signed, "allocate", [])
    assert nothing.status_code == 400 and "Select one or more orders" in page_text(nothing)


def test_reallocate_split_ship_and_cancel(signed: Dash) -> None:
    seed(signed.service)
    signed.service.change_stock("W", "main", 1, "set")  # A's two units lose cover: overallocated
    assert signed.status("A") == "overallocated"
    text = page_text(_act(signed, "reallocate", ["A"], policy="units"))
    assert "Reallocate: 1 order, 1 would change; 1 unit released" in text  # not "1 orders"
    _act(signed, "reallocate", ["A"], policy="units", confirm="1")
    assert signed.status("A") == "partially_allocated"

    count = _order_count(signed)
    split = page_text(_act(signed, "split", ["A", "C"]))
    assert "A-1" in split and "new order (split)" in split and "C skipped" not in split
    assert "nothing reserved" in split or "cannot split order 'C'" in split
    assert _order_count(signed) == count  # the dry run wrote nothing
    _act(signed, "split", ["A", "C"], confirm="1")
    assert signed.service.get_order("A-1").allocation_status == "unallocated"

    ship = page_text(_act(signed, "ship", ["A"]))
    assert "W main 1 → 0" in ship and "allocated → shipped" not in ship
    _act(signed, "ship", ["A"], confirm="1")
    assert signed.service.get_order("A").status == "shipped"
    assert signed.service.list_inventory("W")[0]["on_hand"] == 0
    again = page_text(_act(signed, "ship", ["A"]))
    assert "A: the order is shipped" in again or "skipped" in again

    _act(signed, "cancel", ["C"], confirm="1")
    assert signed.service.get_order("C").status == "cancelled"


def test_an_id_no_order_has_is_skipped_by_name_when_closing(signed: Dash) -> None:
    """A ship or cancel naming an id no order has showed it as "(new) → (new)", no change,
    and dropped it without a word when confirmed."""
    seed(signed.service)
    for action in ("ship", "cancel"):
        text = page_text(_act(signed, action, ["NOPE", "C"]))
        assert "NOPE skipped: no such order" in text or "no such order" in text, text
        assert "(new)" not in text, text
    done = _act(signed, "cancel", ["NOPE", "C"], confirm="1")
    assert "NOPE skipped: no such order" in page_text(signed.get(done.headers["location"]))
    assert signed.service.get_order("C").status == "cancelled"


def test_unknown_action_or_policy_is_refused(signed: Dash) -> None:
    seed(signed.service)
    assert _act(signed, "explode", ["A"]).status_code == 400
    assert _act(signed, "allocate", ["A"], policy="greedy").status_code == 400
    gone = _act(signed, "allocate", ["NOPE"])
    assert gone.status_code == 409 and "no order with id 'NOPE'" in page_text(gone)


def test_stock_forms_set_adjust_receive_and_refuse_bad_input(signed: Dash) -> None:
    seed(signed.service)
    received = signed.post(
        "/inventory", {"sku": "W", "warehouse": "main", "kind": "received", "qty": "4"}
    )
    assert received.status_code == 303
    assert received.headers["location"].endswith("#stock-W--main")
    assert "Receive 4 × W at main: on hand 3 → 7" in page_text(signed.get("/inventory"))
    signed.post("/inventory", {"sku": "W", "kind": "adjusted", "qty": "-2"})
    signed.post("/inventory", {"sku": "NEW", "warehouse": "east", "kind": "set", "qty": "9"})
    rows = {(r["sku"], r["warehouse"]): r["on_hand"] for r in signed.service.list_inventory()}
    assert rows[("W", "main")] == 5 and rows[("NEW", "east")] == 9
    for bad in (
        {"sku": "W", "kind": "received", "qty": "0"},
        {"sku": "W", "kind": "received", "qty": "abc"},
        {"sku": "W", "kind": "set", "qty": "-1"},
        {"sku": "", "kind": "set", "qty": "1"},
        {"sku": "W", "kind": "steal", "qty": "1"},
    ):
        answer = signed.post("/inventory", bad)
        assert answer.status_code == 400, bad
        assert "Nothing changed." in page_text(answer)
    # Digits an import refuses: `1_000`, full-width and Arabic-Indic digits (int() took them),
    # and a superscript, which passed `isdigit()` and then failed int() with Python's words.
    for typed in ("1_000", "１２", "١٢", "²"):
        answer = signed.post("/inventory", {"sku": "W", "kind": "set", "qty": typed})
        assert answer.status_code == 400, typed
        assert f"Nothing changed. quantity must be a whole number, got '{typed}'" in page_text(
            answer
        )
    assert signed.service.list_inventory("W")[0]["on_hand"] == 5


def test_overallocated_stock_comes_first(signed: Dash) -> None:
    seed(signed.service)
    signed.service.change_stock("W", "main", 1, "set")
    page = signed.get("/inventory").text
    rows = re.findall(r'<tr id="(stock-[^"]+)" class="state-(\w+)"', page)
    assert rows[0] == ("stock-W--main", "overallocated")
    assert ("stock-G--main", "short") in rows


def test_preview_an_edited_or_uploaded_rule_file(signed: Dash) -> None:
    seed(signed.service)
    original = RULES.read_text()
    edited = original.replace("    priority: 1000\n", "    priority: 1000\n    enabled: false\n")
    answer = signed.post("/rules/preview", {"text": edited, "all_open": "1"})
    assert answer.status_code == 200
    text = page_text(answer)
    assert "Edited file edited.yaml" in text and "Difference from the file in force" in text
    # C is tagged vip, not fraud_review: both files allocate it alike
    assert "No difference" in text or "would end differently" in text

    held = original.replace('tags contains "fraud_review"', 'tags contains "vip"')
    diffed = page_text(signed.post("/rules/preview", {"text": held, "all_open": "1"}))
    assert "1 order would end differently under the edited file" in diffed
    assert signed.status("C") == "unallocated"  # previews write nothing

    upload = signed.client.post(
        "/rules/preview",
        data={"csrf_token": signed.csrf(), "text": ""},
        files={"upload": ("mine.yaml", held.encode(), "application/yaml")},
    )
    assert upload.status_code == 200 and "Edited file mine.yaml" in page_text(upload)

    broken = signed.post(
        "/rules/preview", {"text": "version: 1\nrules:\n  - name: x\n    rule: when\n"}
    )
    assert broken.status_code == 400
    assert re.search(r"edited\.yaml:4:\d+", page_text(broken))
    empty = signed.post("/rules/preview", {"text": "  "})
    assert empty.status_code == 400 and "the file is empty" in page_text(empty)


def test_the_rules_page_warns_of_a_warehouse_without_stock_as_rules_check_does(
    signed: Dash,
) -> None:
    seed(signed.service)
    text = (
        "version: 1\nrules:\n  - name: east\n"
        '    rule: when new order then allocate from "nowhere"\n'
    )
    answer = signed.post("/rules/preview", {"text": text})
    assert answer.status_code == 200
    assert "edited.yaml:4:45 rule east: no stock row exists in warehouse 'nowhere'" in page_text(
        answer
    )


def test_recent_ticks_show_on_the_rules_page(signed: Dash) -> None:
    ticks = signed.client.app.state.settings.ticks  # type: ignore[attr-defined]
    ticks.remember(
        {
            "at": "2026-11-01T12:00:00+00:00",
            "ruleset": "abc123",
            "events": 3,
            "matches": {"restock": 2},
            "allocation": {"allocated": 2},
            "seconds": 0.01,
        }
    )
    ticks.remember({"at": "2026-11-01T12:00:05+00:00", "failed": True})
    text = page_text(signed.get("/rules"))
    assert "restock 2" in text and "2 allocated" in text
    assert "failed and was rolled back" in text


def test_no_confirm_when_nothing_would_change(signed: Dash) -> None:
    """A dry run where every order was skipped (or would stay as it is) offered "Confirm: split
    1 order", a button that did nothing; it says so instead, with the way back. B (5 W, 3 on
    hand) cannot be allocated: that is no "already as asked"."""
    seed(signed.service)
    for action, oid, why in (
        ("split", "C", "the order is skipped"),
        ("allocate", "A", "the order would stay as it is"),
        ("allocate", "B", "the order would stay as it is"),
        ("deallocate", "C", "the order would stay as it is"),
    ):
        preview = _act(signed, action, [oid])
        text = page_text(preview)
        assert f"Nothing would change: {why}" in text, (action, text)
        assert "as asked" not in text, (action, oid)
        assert 'name="confirm"' not in preview.text and "Confirm:" not in text, action
    assert "cannot split order 'C'" in page_text(_act(signed, "split", ["C"]))  # and why
    assert "Confirm: deallocate 1 order" in page_text(_act(signed, "deallocate", ["A"]))


def test_the_way_back_from_a_cancel_is_not_called_cancel(signed: Dash) -> None:
    """The dry run of Cancel offered "Confirm: cancel 1 order" beside a "Cancel" link (which
    cancels nothing): which one cancels the order? The way back says what it does, and the
    confirm of a cancel looks dangerous."""
    seed(signed.service)
    preview = _act(signed, "cancel", ["B"])
    assert re.search(
        r'<button type="submit" class="danger">Confirm: cancel 1 order</button>', preview.text
    ), preview.text
    assert re.search(r'<a class="button" href="/">Back, change nothing</a>', preview.text)
    assert ">Cancel</a>" not in preview.text
    # B holds nothing: "0 units reserved" read as if cancelling were to reserve something
    assert "Cancel: 1 order, 1 would change; no units reserved or released" in page_text(preview)
    assert 'class="primary">Confirm: ship 1 order' in _act(signed, "ship", ["A"]).text
