"""What the Order and Orders pages say, through Starlette's client, on SQLite and PostgreSQL."""

from __future__ import annotations

import html
import re

from engine.model import Policy
from tests.integration.web.dashboard.conftest import Dash, page_text, seed


def test_a_shipped_order_lacks_nothing(signed: Dash) -> None:
    """A shipped order's lines said "Missing 2" and "Who holds the stock" listed the orders
    holding its SKU, as if it still waited for stock: it holds none because it has left."""
    seed(signed.service)
    signed.service.finish(["A"], "ship")
    signed.service.allocate(["B"], policy=Policy.UNITS)  # B now holds the W left on the shelf
    assert signed.service.get_order("B").allocation_status == "partially_allocated"
    page = signed.get("/orders/A")
    text = page_text(page)
    assert "Shipped" in text and "the order is shipped; it holds no stock" in text
    assert "Who holds the stock" not in text
    line = re.search(r"<tr>\s*<td>1</td>.*?</tr>", page.text, re.S)
    assert line, page.text
    cells = re.findall(r"<td[^>]*>(.*?)</td>", line.group(0), re.S)
    assert cells[-1].strip() == "—", cells  # missing: nothing, not the quantity


def test_the_orders_heading_counts_the_tab_in_view(signed: Dash) -> None:
    """On the "Could not allocate" tab (1 order) the heading said "3 in view": every open
    order, not the ones the page lists."""
    seed(signed.service)
    assert "Open orders (awaiting fulfillment), 3 in view." in page_text(signed.get("/"))
    tab = page_text(signed.get("/?tab=could_not_allocate"))
    assert "Open orders (awaiting fulfillment), 1 in view." in tab, tab


def _status_line(page: str) -> list[str]:
    found = re.search(r'<p class="status-line">(.*?)</p>', page, re.S)
    assert found, page
    return html.unescape(re.sub(r"<[^>]+>", " ", found.group(1))).split()


def test_a_shipped_order_is_shown_shipped_not_unallocated(signed: Dash) -> None:
    """A shipped order's page led with "○ Unallocated" (what a closed order's allocation status
    is) beside "➜ Shipped", under "Why it is unallocated"; and "… Awaiting fulfillment" read as
    text cut short."""
    seed(signed.service)
    signed.service.finish(["A"], "ship")
    shipped = signed.get("/orders/A").text
    assert _status_line(shipped) == ["➜", "Shipped"]
    assert "Why it holds no stock" in page_text(signed.get("/orders/A"))
    waiting = _status_line(signed.get("/orders/B").text)
    assert waiting[:3] == ["✕", "Could", "not"] and "…" not in waiting
    assert waiting[-2:] == ["Awaiting", "fulfillment"]


def test_an_unknown_order_offers_a_search(signed: Dash) -> None:
    """/orders/10023 (the number without its SH- prefix) said only "no order with id '10023'":
    the page offers to search the open orders whose id contains it."""
    seed(signed.service)
    answer = signed.get("/orders/B%3Cx%3E")
    assert answer.status_code == 404
    assert "no order with id 'B<x>'" in page_text(answer)
    assert 'href="/?q=B%3Cx%3E">Search the open orders whose id contains “B&lt;x&gt;”</a>' in (
        answer.text
    ), answer.text
