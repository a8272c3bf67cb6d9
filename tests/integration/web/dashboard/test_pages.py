"""The dashboard (SPEC §11) through Starlette's client, on SQLite and PostgreSQL: every page
readable without JavaScript (plain HTML after signing in), the session and CSRF rules of §10,
bulk actions (dry run first, nothing written, then applied on confirm), stock forms, rule-file
previews and their diffs."""

from __future__ import annotations

import html
import re

import pytest
from fastapi.testclient import TestClient

from engine.io.imports import check_order_mapping
from engine.store import Store
from engine.web.settings import Settings
from tests.conftest import FakeClock
from tests.integration.web.conftest import TOKEN, Api, order
from tests.integration.web.dashboard.conftest import RULES, Dash, make_app, page_text, seed

# ---- reading without JavaScript --------------------------------------------------------------


def test_every_page_is_readable_without_javascript(signed: Dash) -> None:
    seed(signed.service)
    page = signed.get("/")
    assert page.status_code == 200
    text = page_text(page)
    for words in ("All open 3", "Allocated 1", "Could not allocate 1", "Unallocated 1"):
        assert words in text, words
    assert all(oid in text for oid in ("A", "B", "C"))
    assert '<th scope="col"' in page.text and "Skip to content" in text

    order_page = page_text(signed.get("/orders/B"))
    assert "Order B" in order_page and "Could not allocate" in order_page
    assert "Why it could not be allocated" in order_page  # a sentence, not "is could not"
    assert "Why it is allocated" in page_text(signed.get("/orders/A"))
    assert "Who holds the stock" in order_page and "W at main" in order_page
    assert "short of stock on W" in order_page  # explain's summary
    assert "express-first" in order_page  # the rules of the file in force, and why not

    stock = page_text(signed.get("/inventory"))
    assert "W main ✕ Short 3 2 1 7 5" in stock  # on hand, allocated, available, demand, short

    rules = page_text(signed.get("/rules"))
    assert "✓ pass express beats an older ground order" in rules
    assert "Next tick (preview)" in rules and "No problems found" in rules
    assert str(RULES) in rules


def test_the_static_files_are_served_by_themake_app(dash: Dash) -> None:
    htmx = dash.get("/static/htmx.min.js")
    assert htmx.status_code == 200 and "htmx" in htmx.text[:2000]
    assert dash.get("/static/dashboard.css").status_code == 200
    assert "Zero-Clause BSD" in dash.get("/static/htmx.LICENSE").text


def test_tabs_filters_and_a_bad_condition(signed: Dash) -> None:
    seed(signed.service)
    assert "All open 1" in page_text(signed.get("/?channel=amazon"))
    assert "All open 1" in page_text(signed.get("/?tag=vip"))
    only_b = page_text(signed.get("/?q=B"))
    assert "All open 1" in only_b and "Could not allocate 1" in only_b
    by_rule = page_text(signed.get("/", params={"where": 'channel == "shop" and unit_count > 2'}))
    assert "All open 1" in by_rule and "/orders/B" in signed.get("/?where=unit_count+%3E+2").text
    tab = signed.get("/?tab=could_not_allocate")
    assert 'href="/orders/B"' in tab.text and 'href="/orders/A"' not in tab.text

    bad = signed.get("/", params={"where": "total >"})
    assert bad.status_code == 400
    assert "condition:1:8: unexpected end of condition" in page_text(bad)
    assert "Traceback" not in bad.text
    typo = signed.get("/", params={"where": 'chanel == "x"'})
    assert typo.status_code == 400 and "did you mean" in page_text(typo)
    assert page_text(typo).count("did you mean `channel`?") == 1  # the hint once, not twice
    # Nothing matches a condition with a mistake: the tabs and the bulk scope said every open
    # order ("All open 3", "Every order matching the filter (3)") above "No open order matches".
    shown = page_text(typo)
    assert "All open 0" in shown and "Could not allocate 0" in shown, shown
    assert "Every order matching the filter (0)" in shown, shown


def test_keyset_pages_walk_every_order_once_in_any_sort(signed: Dash) -> None:
    problems: list[str] = []
    docs = [
        order(f"P{n:03}", ("W", 1), placed_at=f"2026-01-{n % 28 + 1:02}T09:00:00Z", total=n % 7)
        for n in range(120)
    ]
    new = [check_order_mapping(d, "seed", FakeClock()(), problems) for d in docs]
    signed.service.add_orders([o for o in new if o is not None])
    for sort in ("placed_at", "total", "id"):
        seen: list[str] = []
        texts: list[str] = []
        path: str | None = f"/?sort={sort}&dir=desc"
        while path:
            page = signed.get(path)
            assert page.status_code == 200
            texts.append(page_text(page))
            seen += re.findall(r'<th scope="row"><a href="/orders/(P\d+)"', page.text)
            found = re.search(r'rel="next" href="([^"]+)"', page.text)
            path = html.unescape(found.group(1)) if found else None
        assert sorted(seen) == sorted(d["id"] for d in docs), sort
        assert len(seen) == 120 and len(texts) == 3
        assert "Orders 51–100 of 120" in texts[1] and "Orders 101–120 of 120" in texts[2]
    stale = signed.get("/?cursor=not-a-cursor")
    assert stale.status_code == 200 and "back to the first page" in page_text(stale)


# ---- who may do what --------------------------------------------------------------------------


def test_pages_need_a_session_and_reveal_nothing(dash: Dash) -> None:
    seed(dash.service)
    for path in ("/", "/orders/A", "/inventory", "/rules"):
        answer = dash.get(path)
        assert answer.status_code == 401, path
        assert "Sign in" in answer.text and 'href="/orders/' not in answer.text
        assert "Could not allocate" not in answer.text and "express-first" not in answer.text
    wrong = dash.client.post(
        "/login", data={"token": "nope", "csrf_token": dash.csrf("/login"), "next": "/"}
    )
    assert wrong.status_code == 401 and "not the server's token" in page_text(wrong)
    assert "dibs_session" not in wrong.headers.get("set-cookie", "")
    good = dash.client.post(
        "/login",
        data={"token": TOKEN, "csrf_token": dash.csrf("/login"), "next": "/inventory"},
        follow_redirects=False,
    )
    assert good.status_code == 303 and good.headers["location"] == "/inventory"
    cookie = good.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    assert dash.get("/").status_code == 200
    out = dash.post("/logout", {})
    assert out.status_code == 303
    assert dash.get("/").status_code == 401


def test_a_form_without_its_token_does_nothing(signed: Dash) -> None:
    seed(signed.service)
    for path, data in (
        ("/inventory", {"sku": "W", "kind": "received", "qty": "5"}),
        ("/orders/actions", {"action": "deallocate", "ids": "A", "confirm": "1"}),
    ):
        answer = signed.client.post(path, data={**data, "csrf_token": "forged"})
        assert answer.status_code == 403, path
    assert signed.service.list_inventory("W")[0]["on_hand"] == 3
    assert signed.status("A") == "allocated"


def test_login_redirects_only_within_the_site(dash: Dash) -> None:
    answer = dash.client.post(
        "/login",
        data={"token": TOKEN, "csrf_token": dash.csrf("/login"), "next": "//evil.example/x"},
        follow_redirects=False,
    )
    assert answer.headers["location"] == "/"


def test_without_a_token_the_loopback_dashboard_is_open_but_forms_still_need_csrf(
    store: Store,
) -> None:
    service, app = make_app(store, Settings(), with_rules=False)
    with TestClient(app) as client:
        assert client.get("/").status_code == 200
        assert client.get("/login", follow_redirects=False).status_code == 303
        page = page_text(client.get("/rules"))
        assert "No rule file is in force" in page
        refused = client.post("/inventory", data={"sku": "W", "kind": "set", "qty": "1"})
        assert refused.status_code == 403
        assert service.list_inventory("W") == []


def test_unknown_order_is_a_404_page(signed: Dash) -> None:
    answer = signed.get("/orders/NOPE")
    assert answer.status_code == 404 and "no order with id" in page_text(answer).lower()


@pytest.mark.parametrize(
    "path",
    ["/?channel=x%00", "/?tag=x%00", "/?q=x%00", "/orders/A%00B", "/inventory?sku=A%00"],
)
def test_a_nul_in_the_address_is_a_400_page(signed: Dash, path: str) -> None:
    """On PostgreSQL, which stores no NUL, each reached the database: a 503 page."""
    answer = signed.get(path)
    assert answer.status_code == 400 and "NUL character" in page_text(answer), answer.text


def test_a_nul_in_a_form_does_nothing(signed: Dash) -> None:
    before = signed.service.list_inventory()
    answer = signed.post("/orders/actions", {"action": "ship", "ids": "A\x00"})
    assert answer.status_code == 400 and "NUL character" in page_text(answer), answer.text
    assert signed.service.list_inventory() == before


def test_the_dashboard_links_to_an_order_with_slashes(signed: Dash) -> None:
    """An id such as SO/2026/1 (ERP numbering): its link on the orders page led to a 404."""
    Api(signed.client, signed.service).add(order("SO/2026/1", ("TEE/M", 1)))
    listing = signed.get("/").text
    link = 'href="/orders/SO/2026/1"'
    assert link in listing
    page = signed.get("/orders/SO/2026/1")
    assert page.status_code == 200 and "SO/2026/1" in page_text(page)


def test_an_upload_over_the_limit_is_a_page_not_json(sqlite_store: Store) -> None:
    """A rule file too large for the body limit, uploaded on the Rules page, answered the
    API's JSON error: a browser showed `{"error": …}` with no way back."""
    from tests.integration.web.conftest import settings

    service, app = make_app(sqlite_store, settings(max_body=4096))
    with TestClient(app) as client:
        dash = Dash(client, service)
        dash.sign_in()
        files = {"upload": ("rules.yaml", b"#" * 8192, "application/yaml")}
        answer = client.post(
            "/rules/preview", data={"csrf_token": dash.csrf("/rules")}, files=files
        )
        api = client.post("/api/v1/orders", content=b"x" * 8192)
    assert answer.status_code == 413
    assert answer.headers["content-type"].startswith("text/html")
    text = page_text(answer)
    assert "larger than 4096 bytes" in text and "nothing was read" in text
    assert 'href="/rules"' in answer.text  # a way back to the page it came from
    assert api.status_code == 413 and api.json()["error"]["code"] == "too_large"


def test_an_overallocated_line_counts_its_uncovered_units_in_words(signed: Dash) -> None:
    from tests.helpers import order as new_order

    svc = signed.service
    svc.change_stock("W", "main", 2, "set")
    svc.add_orders([new_order("O", ("W", 2))])
    svc.allocate(["O"])
    svc.change_stock("W", "main", 0, "set")
    text = page_text(signed.get("/orders/O"))
    assert "2 units of this line are not covered by stock." in text
    assert "1 line holds reservations that stock no longer covers" in text
