"""The Orders page (`/`) and the Order page (`/orders/{id}`) of SPEC §11."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import and_
from sqlalchemy.exc import SQLAlchemyError

from engine.errors import BadInput, DibsError, UnknownOrder
from engine.run.explain import explain
from engine.service import overview, read
from engine.store.where import where_clause
from engine.web.dashboard.common import (
    render,
    ruleset_of,
    service_of,
    signed_in,
    storable_address,
)

log = logging.getLogger("dibs.serve")

router = APIRouter(
    include_in_schema=False, dependencies=[Depends(signed_in), Depends(storable_address)]
)

PAGE_SIZE = 50
#: Sortable columns, in the table's order: the column heading's field and its label. The
#: allocation status comes next to the id, so a phone shows it without scrolling sideways.
SORTABLE = {
    "id": "Order",
    "allocation_status": "Allocation",
    "placed_at": "Placed",
    "channel": "Channel",
    "shipping_method": "Shipping",
    "ship_to.country": "Country",
    "unit_count": "Units",
    "total": "Total",
}


@dataclass
class OrdersView:
    """The Orders page's query string, checked: what it shows and how to link to it."""

    tab: str = "all"
    channel: str = ""
    tag: str = ""
    q: str = ""
    where: str = ""
    sort: str = "placed_at"
    dir: str = "asc"
    cursor: str = ""
    page: int = 1
    problems: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_params(cls, params: Any) -> OrdersView:
        def text(name: str) -> str:
            return str(params.get(name) or "").strip()

        view = cls(
            tab=text("tab") or "all",
            channel=text("channel"),
            tag=text("tag"),
            q=text("q"),
            where=text("where"),
            sort=text("sort") or "placed_at",
            dir="desc" if text("dir") == "desc" else "asc",
            cursor=text("cursor"),
        )
        if view.tab not in overview.TABS:
            view.problems["tab"] = f"unknown tab {view.tab!r}; showing every open order"
            view.tab = "all"
        if view.sort not in SORTABLE:
            view.problems["sort"] = f"cannot sort by {view.sort!r}; sorted by placed date"
            view.sort = "placed_at"
        page = text("page")
        view.page = int(page) if page.isdigit() and int(page) > 0 else 1
        return view

    def filters(self) -> dict[str, str]:
        """The filter part of the query string (what "every matching order" means)."""
        return {
            "tab": self.tab,
            "channel": self.channel,
            "tag": self.tag,
            "q": self.q,
            "where": self.where,
        }

    def link(self, **change: Any) -> dict[str, Any]:
        """Query parameters of this view with some changed (a new filter starts at page 1)."""
        base: dict[str, Any] = {**self.filters(), "sort": self.sort, "dir": self.dir}
        if self.sort == "placed_at" and self.dir == "asc":
            base.pop("sort"), base.pop("dir")
        if base.get("tab") == "all":
            base.pop("tab")
        base.update(change)
        return base

    def sort_link(self, name: str) -> dict[str, Any]:
        flip = "desc" if self.sort == name and self.dir == "asc" else "asc"
        return self.link(sort=name, dir=flip)


def open_filter(view: OrdersView, now: Any) -> overview.OpenFilter:
    """The filter of the view; a bad condition goes into `view.problems` (shown, not raised)."""
    clause = None
    if view.where:
        try:
            clause = where_clause(view.where, now, label="condition")
        except BadInput as exc:
            view.problems["where"] = str(exc)  # its message and hint lines
    return overview.OpenFilter(
        channel=view.channel or None,
        tag=view.tag or None,
        id_contains=view.q or None,
        where=clause,
    )


#: How often the Orders page refreshes the planner's statistics (SQLite; engine.store.statistics).
STATISTICS_EVERY = 3600.0


def _fresh_statistics(request: Request) -> None:
    """Once per process and then every `STATISTICS_EVERY` seconds: without them SQLite sorts
    every open order for a page of 50 (see engine.store.statistics)."""
    state = request.app.state
    now = time.monotonic()
    if now - getattr(state, "dashboard_statistics_at", -STATISTICS_EVERY) < STATISTICS_EVERY:
        return
    state.dashboard_statistics_at = now
    try:
        with service_of(request).store.write() as conn:
            overview.refresh_statistics(conn)
    except SQLAlchemyError as exc:  # busy: the page works without, only slower; next time
        log.warning("could not refresh the planner statistics: %s", exc)


def orders_context(request: Request, view: OrdersView) -> dict[str, Any]:
    """Everything the Orders page shows: tab counts, the page of orders, the next cursor."""
    service = service_of(request)
    _fresh_statistics(request)
    flt = open_filter(view, service.clock())
    query = read.PageQuery(
        allocation_statuses=[view.tab] if view.tab != "all" else [],
        where=and_(*flt.clauses()),
        order_by=[(view.sort, view.dir == "desc")],
    )
    # A condition with a mistake selects nothing: the counts say 0, as the empty table does
    # (they counted every open order, and "Every order matching the filter (300)" with them).
    counts: dict[str, int] = dict.fromkeys(overview.TABS, 0)
    docs: list[dict[str, Any]] = []
    following: str | None = None
    with service.store.read() as conn:
        if "where" not in view.problems:
            counts = overview.status_counts(conn, flt)
            docs, following = _page(conn, query, view)
        known_channels = overview.channels(conn)
    return {
        "view": view,
        "counts": counts,
        "tabs": overview.TABS,
        "orders": [_row(d) for d in docs],
        "next_cursor": following,
        "channels": known_channels,
        "sortable": SORTABLE,
        "page_size": PAGE_SIZE,
    }


def _page(
    conn: Any, query: read.PageQuery, view: OrdersView
) -> tuple[list[dict[str, Any]], str | None]:
    try:
        return read.order_page(conn, query, PAGE_SIZE, view.cursor or None)
    except BadInput as exc:  # a cursor from another sort order, or edited by hand
        view.problems["cursor"] = f"{exc}; back to the first page"
        view.page = 1
        return read.order_page(conn, query, PAGE_SIZE, None)


def _row(doc: dict[str, Any]) -> dict[str, Any]:
    units = sum(x["qty"] for x in doc["lines"])
    reserved = sum(x["reserved"] for x in doc["lines"])
    return {**doc, "units": units, "reserved": reserved}


@router.get("/", response_class=HTMLResponse)
def orders_page(request: Request) -> HTMLResponse:
    view = OrdersView.from_params(request.query_params)
    context = orders_context(request, view)
    status = 400 if "where" in view.problems else 200
    return render(request, "dashboard/orders.html", status, title="Orders", **context)


@router.get("/orders/{order_id:path}", response_class=HTMLResponse)  # ids may hold a `/`
def order_page(request: Request, order_id: str) -> HTMLResponse:
    return render_order(request, order_id)


def render_order(
    request: Request, order_id: str, outcome: Any = None, status_code: int = 200
) -> HTMLResponse:
    """The Order page, with the result of an action just applied when there is one."""
    service = service_of(request)
    try:
        order = service.order_document(order_id)
        why = explain(service, order_id, ruleset_of(request))
        history = service.history(order_id)
        held = service.reservations_of(order_id)
    except UnknownOrder as exc:
        return render(
            request,
            "dashboard/error.html",
            404,
            title="No such order",
            error=str(exc),
            search=order_id.strip(),
        )
    except DibsError as exc:
        return render(request, "dashboard/error.html", 409, title="Order", error=str(exc))
    by_line: dict[int, list[dict[str, Any]]] = {}
    for r in held:
        by_line.setdefault(r["line"], []).append(r)
    lines = [
        {**line, "no": n, "explain": why["lines"][n - 1], "reservations": by_line.get(n, [])}
        for n, line in enumerate(order["lines"], start=1)
    ]
    return render(
        request,
        "dashboard/order.html",
        status_code,
        title=f"Order {order_id}",
        order=order,
        lines=lines,
        why=why,
        history=history,
        outcome=outcome,
    )
