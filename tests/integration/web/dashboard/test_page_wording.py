"""What the Order and Orders pages say, through Starlette's client, on SQLite and PostgreSQL."""

from __future__ import annotations

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
