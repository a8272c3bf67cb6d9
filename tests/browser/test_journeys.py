"""The dashboard's journeys in a real browser (SPEC §11), against one `dibs serve` with the
example data and rules. The journeys run in file order on the same server and build on each
other's state (that is the point: one person working the orders), so keep them serial."""

from __future__ import annotations

import re
import time
from collections import Counter
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import TOKEN, Server, check_axe, shoot, sign_in

pytestmark = pytest.mark.slow

OPEN = "awaiting_fulfillment"


def _open_counts(server: Server) -> Counter[str]:
    return Counter(o["allocation_status"] for o in server.orders(status=OPEN))


def _tab(page: Page, label: str) -> Any:
    return page.get_by_role("navigation", name="Allocation status").get_by_role(
        "link", name=re.compile(rf"^{label}\b")
    )


def _open_tab(page: Page, label: str) -> None:
    """Click a status tab and wait until htmx has swapped its page in."""
    _tab(page, label).click()
    expect(_tab(page, label)).to_have_attribute("aria-current", "page")


def _wait_until(check: Any, seconds: float = 20) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.3)


def test_sign_in_with_the_token(page: Page, server: Server, axe_report: dict[str, Any]) -> None:
    page.goto(server.url + "/inventory")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    shoot(page, "01-sign-in")
    check_axe(page, "sign-in", axe_report)
    page.get_by_label("API token").fill("not-the-token")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("not the server's token")
    page.get_by_label("API token").fill(TOKEN)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(server.url + "/inventory")  # back where the visitor was going
    expect(page.get_by_role("heading", name="Inventory")).to_be_visible()
    cookie = next(c for c in page.context.cookies() if c["name"] == "dibs_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"


def test_status_tabs_show_the_counts(
    page: Page, server: Server, axe_report: dict[str, Any]
) -> None:
    sign_in(page, server)
    counts = _open_counts(server)
    assert counts["allocated"] and counts["could_not_allocate"]  # the examples have both
    labels = {
        "All open": sum(counts.values()),
        "Unallocated": counts["unallocated"],
        "Allocated": counts["allocated"],
        "Partially allocated": counts["partially_allocated"],
        "Could not allocate": counts["could_not_allocate"],
        "Overallocated": counts["overallocated"],
    }
    for label, n in labels.items():
        expect(_tab(page, label).locator(".count")).to_have_text(str(n))
    expect(page.locator("table.orders tbody tr")).to_have_count(min(50, labels["All open"]))
    shoot(page, "02-orders")
    check_axe(page, "orders", axe_report)


def test_filter_to_could_not_allocate(
    page: Page, server: Server, axe_report: dict[str, Any]
) -> None:
    sign_in(page, server)
    _open_tab(page, "Could not allocate")
    rows = page.locator("table.orders tbody tr")
    wanted = _open_counts(server)["could_not_allocate"]
    expect(rows).to_have_count(min(50, wanted))
    for badge in rows.locator(".badge").all():
        assert badge.inner_text().strip().endswith("Could not allocate")
    # a rule-language condition narrows it further; a bad one says where it is wrong
    page.get_by_label("Condition").fill('channel == "amazon" and')
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#where-error")).to_contain_text("condition:1:")
    page.get_by_label("Condition").fill('channel != "amazon"')
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#where-error")).to_have_count(0)
    non_amazon = [
        o
        for o in server.orders(status=OPEN, allocation_status="could_not_allocate")
        if o["channel"] != "amazon"
    ]
    expect(rows).to_have_count(min(50, len(non_amazon)))
    assert "tab=could_not_allocate" in page.url  # the URL keeps the view (htmx pushes it)
    shoot(page, "03-orders-could-not-allocate")
    check_axe(page, "orders-filtered", axe_report)


def test_receiving_stock_makes_an_order_allocatable(
    page: Page, server: Server, axe_report: dict[str, Any]
) -> None:
    sign_in(page, server)
    waiting = [
        o
        for o in server.orders(status=OPEN, allocation_status="could_not_allocate")
        if "held" not in o["tags"] and o["channel"] != "wholesale"
    ]
    order = waiting[0]
    page.goto(server.url + "/inventory")
    shoot(page, "04-inventory")
    check_axe(page, "inventory", axe_report)
    for line in order["lines"]:
        row = page.locator(f"tr#stock-{re.sub(r'[^A-Za-z0-9]', '-', line['sku'])}--main")
        row.get_by_label(f"Change for {line['sku']} at main").select_option("received")
        row.get_by_label(f"Units of {line['sku']} at main").fill("500")
        row.get_by_role("button", name=f"Apply the change to {line['sku']} at main").click()
        expect(page.get_by_role("status")).to_contain_text(f"Receive 500 × {line['sku']}")
    # the restock rule ("when inventory received") allocates it within a tick
    assert _wait_until(lambda: server.order(order["id"])["allocation_status"] == "allocated")
    page.goto(server.url + f"/orders/{order['id']}")
    expect(page.locator(".status-line")).to_contain_text("Allocated")


def test_select_three_orders_and_allocate(
    page: Page, server: Server, axe_report: dict[str, Any]
) -> None:
    sign_in(page, server)
    _open_tab(page, "Unallocated")
    rows = page.locator("table.orders tbody tr")
    chosen = [rows.nth(n).locator("th").inner_text().strip() for n in range(3)]
    for n in range(3):
        rows.nth(n).get_by_role("checkbox").check()
    page.get_by_role("button", name="Allocate…", exact=True).click()
    panel = page.locator("#action-panel")
    expect(panel).to_contain_text("dry run, nothing written yet")
    expect(panel).to_contain_text("Allocate: 3 orders")
    for oid in chosen:  # nothing written by the preview
        assert server.order(oid)["allocation_status"] == "unallocated"
    shoot(page, "05-allocate-preview")
    check_axe(page, "allocate-preview", axe_report)
    panel.get_by_role("button", name="Confirm: allocate 3 orders").click()
    expect(page.get_by_role("status").first).to_contain_text("Allocate: 3 orders")
    for oid in chosen:
        assert server.order(oid)["allocation_status"] != "unallocated"


def _make_overallocated(server: Server) -> str:
    """Lower the stock of a SKU whose units are all reserved, so its newest holder loses cover."""
    rows = [r for r in server.stock() if r["allocated"] >= 2 and r["available"] == 0]
    if not rows:
        rows = [r for r in server.stock() if r["allocated"] >= 2]
    return str(rows[0]["sku"])


def test_overallocated_order_shows_who_holds_its_stock(
    page: Page, server: Server, axe_report: dict[str, Any]
) -> None:
    sign_in(page, server)
    sku = _make_overallocated(server)
    before = next(r for r in server.stock() if r["sku"] == sku and r["warehouse"] == "main")
    page.goto(server.url + "/inventory")
    page.get_by_label("SKU", exact=True).fill(sku)
    page.get_by_label("Change", exact=True).select_option("set")
    page.get_by_label("Units", exact=True).fill(str(before["allocated"] - 1))
    page.get_by_role("button", name="Apply", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text(f"Set on hand to {before['allocated'] - 1}")
    page.goto(server.url + "/")
    _open_tab(page, "Overallocated")
    page.locator("table.orders tbody tr th a").first.click()
    expect(page.locator(".status-line")).to_contain_text("Overallocated")
    held = page.get_by_role("region", name="Who holds the stock")
    expect(held).to_contain_text(f"{sku} at main")
    expect(held.locator("tbody tr th a").first).to_be_visible()  # another order's id
    oid = page.url.rsplit("/", 1)[1]
    shoot(page, "06-order-overallocated")
    check_axe(page, "order", axe_report)

    page.get_by_role("button", name="Deallocate…", exact=True).click()
    expect(page.locator("#action-panel")).to_contain_text("Deallocate: 1 order,")
    page.get_by_role("button", name="Confirm: deallocate 1 order").click()
    expect(page.locator(".status-line")).to_contain_text("Unallocated")
    assert server.order(oid)["allocation_status"] == "unallocated"

    page.get_by_role("button", name="Reallocate…", exact=True).click()
    expect(page.locator("#action-panel")).to_contain_text("Reallocate: 1 order,")
    shoot(page, "07-reallocate-preview")
    page.get_by_role("button", name="Confirm: reallocate 1 order").click()
    expect(page.get_by_role("status").first).to_contain_text("Reallocate: 1 order,")
    assert server.order(oid)["allocation_status"] != "unallocated"


def test_preview_an_edited_rule_file(
    page: Page, server: Server, axe_report: dict[str, Any]
) -> None:
    sign_in(page, server)
    page.goto(server.url + "/rules")
    expect(page.get_by_role("region", name="Tests")).to_contain_text("✓ pass")
    expect(page.get_by_role("region", name="Recent ticks")).to_contain_text("express-first")
    shoot(page, "08-rules")
    check_axe(page, "rules", axe_report)
    text = page.get_by_label("Rule file (YAML)").input_value()
    # switch the fraud hold off: the held orders would then get stock like everyone else
    edited = text.replace("    priority: 1000\n", "    priority: 1000\n    enabled: false\n", 1)
    assert edited != text
    page.get_by_label("Rule file (YAML)").fill(edited)
    page.get_by_label("Offer every open unallocated order as new").check()
    page.get_by_role("button", name="Check and preview").click()
    candidate = page.get_by_role("region", name=re.compile("Edited file"))
    expect(candidate).to_contain_text("Difference from the file in force")
    expect(candidate).to_contain_text("would end differently under the edited file")
    held = [o["id"] for o in server.orders(status=OPEN, tag="held")]
    differing = candidate.locator("table.diff tbody th a").all_inner_texts()
    assert differing and set(differing) <= set(held)
    shoot(page, "09-rules-diff")
    check_axe(page, "rules-diff", axe_report)


@pytest.mark.parametrize("path", ["/", "/orders/SH-10023", "/inventory", "/rules"])
def test_on_a_phone_the_page_does_not_run_off_the_right_edge(
    page: Page, server: Server, path: str
) -> None:
    """At 390 px the header's Sign out was cut off and the order page's rules table widened
    the page: a wide table scrolls in its own box, the header wraps."""
    sign_in(page, server)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(server.url + path)
    signout = page.get_by_role("button", name="Sign out").bounding_box()
    assert signout is not None and signout["x"] + signout["width"] <= 390, signout
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, (path, width)
    shoot(page, "phone" + path.replace("/", "-"))
