"""The orders half of the JSON API under /api/v1 (SPEC §10), in the CLI's `--json` shapes.

Every answer is built by `engine.service.shapes` / `engine.service.read`, the serializer the
command line uses too. Routes are plain `def`s (FastAPI runs them in its thread pool) over the
same `Service` the CLI calls; every write is one transaction, so bad input writes nothing.
"""

from __future__ import annotations

import difflib
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.responses import JSONResponse

from engine.errors import BadInput, OrdersExist
from engine.io.incoming import native_incoming
from engine.model import AllocationStatus, OrderStatus, Policy
from engine.service import Service, read
from engine.store.ordering import parse_order_by
from engine.store.where import where_clause
from engine.web.bodies import OrderPatch, SelectionIn, checked_patch, native_orders, no_body
from engine.web.deps import (
    API_ACTOR,
    API_CHECKS,
    ServiceDep,
    checked_from,
    get_ruleset,
)
from engine.web.errors import ApiError, is_json, not_json
from engine.web.routes import EncodedSlashRoute

router = APIRouter(
    prefix="/api/v1",
    dependencies=API_CHECKS,
    tags=["orders"],
    route_class=EncodedSlashRoute,
)

_ALLOCATION = [s.value for s in AllocationStatus]
_STATUS = [s.value for s in OrderStatus]
#: The actions that take no body refuse one (`bodies.no_body`).
_NO_BODY = [Depends(no_body)]


def _names(text: str | None, known: list[str], field: str) -> list[str]:
    """A comma-separated list of known status names (a typo is 400 with a hint)."""
    names = [n.strip() for n in (text or "").split(",") if n.strip()]
    for name in names:
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; one of {', '.join(known)}"
            raise BadInput(f"{field}: unknown status {name!r}{hint}", field=field)
    return names


@router.get("/orders", summary="List orders, a page at a time (keyset cursor)")
def list_orders(
    service: ServiceDep,
    allocation_status: str | None = None,
    status: str | None = None,
    channel: str | None = None,
    tag: str | None = None,
    where: str | None = None,
    order_by: str | None = None,
    limit: Annotated[int, Query(ge=1, le=read.MAX_PAGE)] = 50,
    cursor: str | None = None,
) -> JSONResponse:
    query = read.PageQuery(
        allocation_statuses=_names(allocation_status, _ALLOCATION, "allocation_status"),
        statuses=_names(status, _STATUS, "status"),
        # Empty is absent, as for the other filters (`?tag=` from a script's empty variable
        # answered no order at all, and `?cursor=` was "not a cursor of this listing").
        channel=channel or None,
        tag=tag or None,
        where=where_clause(where, service.clock(), label="where") if where else None,
        order_by=parse_order_by(order_by, label="order_by") if order_by else [],
    )
    with service.store.read() as conn:
        docs, following = read.order_page(conn, query, limit, cursor or None)
    # The documents are JSON already (the CLI prints them as they are): straight to the
    # response, skipping FastAPI's generic encoder, which took longer than the query.
    return JSONResponse({"orders": docs, "next": following})


@router.post(
    "/orders",
    status_code=201,
    summary="Add native orders (an object or an array); sync=true applies them by sync (200)",
)
def add_orders(
    service: ServiceDep,
    request: Request,
    body: Annotated[Any, Body()],
    sync: bool = False,
) -> Any:
    content_type = request.headers.get("content-type")
    # FastAPI hands over the bytes of a body it did not read as JSON; a str is a JSON string
    # (`"hello"`), which the order validator names as such.
    if isinstance(body, bytes) or (isinstance(body, str) and not is_json(content_type)):
        raise BadInput(not_json(content_type), field="body")
    now = service.clock()
    new = native_orders(body, now)
    if sync:  # SPEC §9: created, updated, unchanged, … instead of refusing known ids
        report = service.sync_orders([native_incoming(order, now) for order in new], API_ACTOR)
        return JSONResponse(report.as_json(), status_code=200)
    try:
        service.add_orders(new)
    except OrdersExist as exc:
        # The CLI's refusal says to use --sync; here that is the query parameter.
        hint = "; POST with ?sync=true to update known orders instead"
        raise ApiError(409, str(exc) + hint, field="id") from exc
    with service.store.read() as conn:
        loaded = service.load_orders(conn, [o.id for o in new])
        docs = read.order_documents_of(conn, [loaded[o.id] for o in new])
    return docs[0] if not isinstance(body, list) else {"orders": docs}


@router.get("/orders/{order_id:path}/explain", summary="Why the order has its status")
def explain_order(
    service: ServiceDep,
    order_id: str,
    ruleset: Any = Depends(get_ruleset),
    from_: Annotated[
        str | None,
        Query(alias="from", description="the warehouses to explain against, e.g. east,west"),
    ] = None,
) -> Any:
    from engine.run.explain import explain

    # As `dibs explain --from`: split on commas, then checked by the same check (after the
    # order is looked up: an unknown order is 404 whatever `from` says).
    tried = None if from_ is None else from_.split(",")
    return explain(service, order_id, ruleset, warehouses=tried, label="from")


@router.get("/orders/{order_id:path}/history", summary="The ledger entries of the order")
def order_history(service: ServiceDep, order_id: str) -> list[dict[str, Any]]:
    return service.history(order_id)


# After /explain and /history: `{order_id:path}` (ids may hold a `/`, `SO/2026/1`) would
# otherwise take `X/explain` for an id. An id ending in `/explain` is sent `X%2Fexplain`, which
# the explain route then declines (`routes.EncodedSlashRoute`).
@router.get("/orders/{order_id:path}", summary="One order, as `orders show --json`")
def show_order(service: ServiceDep, order_id: str) -> dict[str, Any]:
    return service.order_document(order_id)


@router.patch("/orders/{order_id:path}", summary="Change lines, tags, address or shipping method")
def patch(service: ServiceDep, order_id: str, body: OrderPatch) -> dict[str, Any]:
    # Validated against the order as stored, inside the edit's transaction: a refusal (bad
    # value, closed order) rolls everything back.
    changed, _ = service.update_order(
        order_id, lambda stored: checked_patch(stored, body), API_ACTOR
    )
    return service.order_document(changed.id)


def _close(service: Service, order_id: str, how: str) -> dict[str, Any]:
    service.finish([order_id], how, API_ACTOR)
    return service.order_document(order_id)


@router.post(
    "/orders/{order_id:path}/ship",
    summary="Ship: on hand falls, reservations released",
    dependencies=_NO_BODY,
)
def ship(service: ServiceDep, order_id: str, force: bool = False) -> dict[str, Any]:
    # As `dibs orders ship`: units other orders hold are not taken without being asked to.
    victims = [] if force else service.cover_lost_by_shipping([order_id])
    if victims:
        shown = ", ".join(victims[:20]) + (f" and {len(victims) - 20} more" if victims[20:] else "")
        raise ApiError(
            409,
            f"shipping {order_id} takes stock reserved by other orders: {shown} would lose "
            "cover (become overallocated); nothing was shipped. Ship with ?force=true to do it "
            "anyway, or allocate first",
        )
    return _close(service, order_id, "ship")


@router.post(
    "/orders/{order_id:path}/cancel", summary="Cancel: reservations released", dependencies=_NO_BODY
)
def cancel(service: ServiceDep, order_id: str) -> dict[str, Any]:
    return _close(service, order_id, "cancel")


@router.post(
    "/orders/{order_id:path}/dropship",
    summary="Dropship: reservations released",
    dependencies=_NO_BODY,
)
def dropship(service: ServiceDep, order_id: str) -> dict[str, Any]:
    return _close(service, order_id, "dropship")


@router.post(
    "/orders/{order_id:path}/split",
    summary="Move the unreserved units into a new order",
    dependencies=_NO_BODY,
)
def split(service: ServiceDep, order_id: str) -> dict[str, Any]:
    kept, child = service.split(order_id, API_ACTOR)
    return {
        "order": service.order_document(kept.id),
        "split_into": service.order_document(child.id),
    }


@router.post(
    "/orders/{order_id:path}/deallocate", summary="Release every reservation", dependencies=_NO_BODY
)
def deallocate(service: ServiceDep, order_id: str) -> dict[str, Any]:
    return service.deallocate([order_id], actor=API_ACTOR).as_json()


@router.post("/orders/{order_id:path}/reallocate", summary="Deallocate, then allocate again")
def reallocate(
    service: ServiceDep, order_id: str, body: Annotated[SelectionIn | None, Body()] = None
) -> dict[str, Any]:
    policy = body.policy if body is not None else Policy.LINES
    warehouses = checked_from(service, body.from_ if body is not None else None)
    return service.reallocate([order_id], policy, API_ACTOR, warehouses).as_json()
