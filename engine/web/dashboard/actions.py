"""POST /orders/actions: a bulk action's dry run, then (with `confirm`) the action itself.

Without JavaScript the dry run is a page of its own with a Confirm button; with htmx it swaps
into the page the action was chosen on (`#action-panel`). Confirming posts normally and is
answered with a redirect back (post/redirect/get) carrying the result as a one-time notice.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import and_

from engine.model import Policy
from engine.service import overview
from engine.store import orders
from engine.web.dashboard import bulk
from engine.web.dashboard.common import (
    DASHBOARD_ACTOR,
    STATUS_LOOKS,
    checked_form,
    local_path,
    look,
    render,
    service_of,
    set_notice,
    signed_in,
    storable_address,
)
from engine.web.dashboard.orders import OrdersView, open_filter

router = APIRouter(
    include_in_schema=False, dependencies=[Depends(signed_in), Depends(storable_address)]
)


def _refuse(request: Request, message: str, back: str) -> Response:
    return render(request, "dashboard/action.html", 400, title="Action", error=message, back=back)


def _selection(
    request: Request, form: dict[str, Any], action: str
) -> tuple[bulk.Selection | None, str | None]:
    """The orders the form picks, or why it picks none."""
    if form.get("scope") != "matching":
        ids = [i for i in dict.fromkeys(form.get("ids", [])) if i]
        if not ids:
            return None, "Select one or more orders first (or choose every matching order)."
        return bulk.Selection(ids), None
    service = service_of(request)
    view = OrdersView.from_params(form)
    flt = open_filter(view, service.clock())
    if "where" in view.problems:
        return None, view.problems["where"]
    with service.store.read() as conn:
        ids = overview.matching_ids(conn, flt, view.tab)
    if not ids:
        return None, "No open order matches the filter."
    clauses = flt.clauses()
    if view.tab != "all":
        clauses.append(orders.c.allocation_status == view.tab)
    return bulk.Selection(ids, and_(*clauses) if action in bulk.BY_WHERE else None), None


@router.post("/orders/actions")
async def order_action(request: Request) -> Response:
    form = await checked_form(request)
    back = local_path(form.get("back"))
    action = str(form.get("action", ""))
    if action not in bulk.ACTIONS:
        return _refuse(request, f"Unknown action {action!r}.", back)
    try:
        policy = Policy(str(form.get("policy") or "lines"))
    except ValueError:
        return _refuse(request, f"Unknown policy {form.get('policy')!r}.", back)
    selection, problem = _selection(request, form, action)
    if selection is None:
        return _refuse(request, problem or "Nothing selected.", back)
    confirm = form.get("confirm") == "1"
    outcome = bulk.perform(
        service_of(request), action, selection, policy, DASHBOARD_ACTOR, dry_run=not confirm
    )
    if confirm:
        response = RedirectResponse(back, status_code=303)
        set_notice(response, _notice(outcome))
        return response
    keep = {k: v for k, v in form.items() if k not in ("csrf_token", "confirm", "ids")}
    return render(
        request,
        "dashboard/action.html",
        409 if outcome.error else 200,
        title=f"{bulk.VERBS[action]}: what it would change",
        outcome=outcome,
        verb=bulk.VERBS[action],
        keep=keep,
        ids=selection.ids if form.get("scope") != "matching" else [],
        back=back,
        shown=bulk.SHOWN_ROWS,
    )


def _notice(outcome: bulk.Outcome) -> dict[str, Any]:
    def label(status: str) -> str:  # "Could not allocate", as the badges say, not the name
        return look(status).label if status in STATUS_LOOKS else status

    details = [
        f"{r['id']}: {label(r['before'])} → {label(r['after'])}"
        + (f" (reserved {r['reserved_before']} → {r['reserved_after']})" if r["changed"] else "")
        for r in outcome.changed[:8]
    ]
    details += [f"{s['id']} skipped: {s['reason']}" for s in outcome.skipped[:4]]
    details += [f"{o['id']}: {o['before']} → {label(o['after'])}" for o in outcome.others[:4]]
    return {
        "kind": "error" if outcome.error else "ok",
        "text": outcome.headline(),
        "details": details,
    }
