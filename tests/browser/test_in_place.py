"""The dry run of an action appears where it was asked for, and a keyboard user lands on it;
narrow screens. Each test picks its orders through the API when it runs, so they do not
depend on the journeys' order (they share the session's server)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import Server, shoot, sign_in

pytestmark = pytest.mark.slow

OPEN = "awaiting_fulfillment"


def _an_allocated_order(server: Server) -> str:
    return str(server.orders(status=OPEN, allocation_status="allocated")[0]["id"])


def test_an_action_on_the_order_page_previews_in_place(page: Page, server: Server) -> None:
    """The order page's buttons posted the whole page: the order vanished behind the dry run,
    the address bar said /orders/actions, and reloading it showed "no order with id
    'actions'"."""
    sign_in(page, server)
    oid = _an_allocated_order(server)
    page.goto(server.url + f"/orders/{oid}")
    page.get_by_role("button", name="Deallocate…", exact=True).focus()
    page.keyboard.press("Enter")
    panel = page.locator("#action-panel")
    expect(panel).to_contain_text("dry run, nothing written yet")
    expect(page.get_by_role("heading", name=f"Order {oid}")).to_be_visible()
    assert page.url == server.url + f"/orders/{oid}"
    expect(panel).to_be_focused()  # a keyboard user is taken to what it would change
    shoot(page, "10-order-preview-in-place")
    panel.get_by_role("link", name="Back, change nothing").click()
    expect(panel).to_be_empty()
    page.reload()
    expect(page.get_by_role("heading", name=f"Order {oid}")).to_be_visible()
    assert server.order(oid)["allocation_status"] == "allocated"  # nothing written


def test_the_keyboard_reaches_the_dry_run_on_the_orders_page(page: Page, server: Server) -> None:
    """The dry run appears above the buttons while focus stayed on the button: Tab went on to
    the table, away from Confirm."""
    sign_in(page, server)
    page.locator("table.orders tbody tr").first.get_by_role("checkbox").check()
    page.get_by_role("button", name="Reallocate…", exact=True).focus()
    page.keyboard.press("Enter")
    panel = page.locator("#action-panel")
    expect(panel).to_contain_text("dry run, nothing written yet")
    expect(panel).to_be_focused()
    for _ in range(10):  # the panel's links, then Confirm
        page.keyboard.press("Tab")
        focused = page.evaluate("document.activeElement.textContent")
        if re.match(r"Confirm", focused):
            break
    assert focused.startswith("Confirm: reallocate 1 order"), focused


def test_at_375_px_no_page_runs_off_the_right_edge(page: Page, server: Server) -> None:
    """An order with a history ran 74 px off a 375 px screen: its History (and who holds the
    stock) tables were not in a box of their own that scrolls. A long unknown id in the address
    (300 characters) ran the error message 500 px off it."""
    sign_in(page, server)
    page.set_viewport_size({"width": 375, "height": 812})
    oid = _an_allocated_order(server)
    for path in ("/", "/inventory", "/rules", "/orders/" + "X" * 300, f"/orders/{oid}"):
        page.goto(server.url + path)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, (path, width)
    expect(page.get_by_role("region", name="History").locator("tbody tr").first).to_be_visible()
    shoot(page, "phone-375-order")
    page.get_by_role("button", name="Allocate…", exact=True).click()
    expect(page.locator("#action-panel")).to_contain_text("dry run, nothing written yet")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375


def test_on_a_phone_an_order_id_stays_on_one_line(page: Page, server: Server) -> None:
    """At 375 px the Orders table broke ids at their hyphen ("AMZ-" above "10281", "SH-10017-"
    above "1"), which reads as two ids; the table scrolls sideways instead."""
    sign_in(page, server)
    page.set_viewport_size({"width": 375, "height": 812})
    page.goto(server.url + "/")
    link = page.locator("table.orders tbody tr th a").first
    box = link.bounding_box()
    line = page.evaluate(
        "e => parseFloat(getComputedStyle(e).lineHeight) || 1.5 * parseFloat("
        "getComputedStyle(e).fontSize)",
        link.element_handle(),
    )
    assert box is not None and box["height"] < 1.5 * line, (box, line)
    # and its allocation status is on the screen, not behind Placed and Channel (it began at
    # 440 px, so a phone showed a list of ids and dates without the one thing it is for)
    right, edge = page.evaluate(
        "[Math.max(...[...document.querySelectorAll('table.orders tbody .badge')]"
        ".map(b => b.getBoundingClientRect().right)),"
        " document.querySelector('#bulk .table-wrap').getBoundingClientRect().right]"
    )
    assert right <= edge, (right, edge)  # "Could not allocate" and "Partially allocated" too
    shoot(page, "phone-375-orders")


def test_an_expired_form_says_so_where_the_dry_run_would_be(page: Page, server: Server) -> None:
    """An action from a page whose form token is out of date (signed in again in another tab)
    is refused (403): the answer had no dry-run panel for htmx to take, so the button did
    nothing visible and the panel was gone from the page."""
    sign_in(page, server)
    page.locator("table.orders tbody tr").first.get_by_role("checkbox").check()
    page.evaluate("document.querySelectorAll('[name=csrf_token]').forEach(e => e.value = 'old')")
    page.get_by_role("button", name="Deallocate…", exact=True).click()
    panel = page.locator("#action-panel")
    expect(panel).to_contain_text("This form is out of date")
    expect(panel).to_contain_text("Reload the page and try again")
    expect(panel).to_be_focused()
    expect(page.get_by_role("heading", name="Orders", exact=True)).to_be_visible()
