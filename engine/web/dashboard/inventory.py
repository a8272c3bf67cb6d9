"""The Inventory page (`/inventory`): stock per SKU and warehouse, shortfalls and overallocated
stock first; set, adjust and receive (SPEC §4), each one transaction."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from engine.errors import DibsError
from engine.io.values import Invalid, whole_number
from engine.service import overview
from engine.web.dashboard.common import (
    DASHBOARD_ACTOR,
    anchor,
    checked_form,
    query_string,
    render,
    service_of,
    set_notice,
    signed_in,
    storable_address,
)

router = APIRouter(
    include_in_schema=False, dependencies=[Depends(signed_in), Depends(storable_address)]
)

#: The form's kinds of change and their wording.
KINDS = {"received": "Receive", "adjusted": "Adjust by", "set": "Set on hand to"}


def _page(request: Request, sku: str, status_code: int = 200, **extra: Any) -> HTMLResponse:
    service = service_of(request)
    with service.store.read() as conn:
        board = overview.stock_board(conn, sku or None)
    summary = {
        "overallocated": sum(1 for r in board if r["state"] == "overallocated"),
        "short": sum(1 for r in board if r["state"] == "short"),
        "rows": len(board),
    }
    return render(
        request,
        "dashboard/inventory.html",
        status_code,
        title="Inventory",
        board=board,
        sku=sku,
        kinds=KINDS,
        summary=summary,
        **extra,
    )


@router.get("/inventory", response_class=HTMLResponse)
def inventory_page(request: Request, sku: str = "") -> HTMLResponse:
    return _page(request, sku.strip())


def _quantity(text: str) -> int:
    """A whole number of units (the service checks its sign and range)."""
    try:
        return whole_number(text)
    except Invalid as exc:
        raise ValueError(f"quantity {exc}") from None


@router.post("/inventory")
async def change_stock(request: Request) -> Response:
    form = await checked_form(request)
    sku = str(form.get("sku", "")).strip()
    warehouse = str(form.get("warehouse") or "main").strip()
    kind = str(form.get("kind", ""))
    back_sku = str(form.get("filter", "")).strip()
    error: str | None = None
    if not sku:
        error = "sku: name the SKU"
    elif kind not in KINDS:
        error = f"kind: one of {', '.join(KINDS)}"
    if error is None:
        try:
            qty = _quantity(str(form.get("qty", "")))
            before = _on_hand(request, sku, warehouse)
            row = service_of(request).change_stock(sku, warehouse, qty, kind, DASHBOARD_ACTOR)
        except (ValueError, DibsError) as exc:
            error = str(exc)
    if error is not None:
        return _page(
            request,
            back_sku,
            400,
            notice={"kind": "error", "text": f"Nothing changed. {error}", "details": []},
            failed={"sku": sku, "warehouse": warehouse, "kind": kind, "qty": form.get("qty")},
        )
    text = (
        f"{KINDS[kind]} {qty} × {sku} at {warehouse}: on hand {before} → {row['on_hand']}, "
        f"available {row['available']}"
    )
    where = "/inventory" + (query_string({"sku": back_sku}) if back_sku else "")
    response = RedirectResponse(f"{where}#{anchor(sku, warehouse)}", status_code=303)
    set_notice(response, {"kind": "ok", "text": text, "details": []})
    return response


def _on_hand(request: Request, sku: str, warehouse: str) -> int:
    rows = [r for r in service_of(request).list_inventory(sku) if r["warehouse"] == warehouse]
    return int(rows[0]["on_hand"]) if rows else 0
