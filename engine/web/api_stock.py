"""The rest of the JSON API under /api/v1 (SPEC §10): health, inventory, allocate, rules."""

from __future__ import annotations

import dataclasses
import logging
import os
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import func, select
from starlette.concurrency import run_in_threadpool

from engine.errors import BadInput, plural
from engine.run.filechecks import environment_warnings, invalid_test_orders
from engine.service import Service
from engine.service.shapes import iso
from engine.store import events
from engine.store.ordering import parse_order_by
from engine.store.where import where_clause
from engine.web.bodies import AllocateIn, OnHandIn, QtyIn
from engine.web.deps import (
    API_ACTOR,
    API_CHECKS,
    ServiceDep,
    SettingsDep,
    checked_from,
    get_service,
)
from engine.web.errors import ApiError
from engine.web.routes import EncodedSlashRoute
from rules.loader import check_ruleset_bytes

log = logging.getLogger("dibs.serve")

health_router = APIRouter(prefix="/api/v1", tags=["health"])
router = APIRouter(
    prefix="/api/v1",
    dependencies=API_CHECKS,
    route_class=EncodedSlashRoute,
)


@health_router.get("/health", summary="Is the server and its database up? (no token needed)")
def health(service: ServiceDep, settings: SettingsDep) -> Any:
    try:
        with service.store.read() as conn:
            pending = conn.execute(
                select(func.count()).select_from(events).where(events.c.processed.is_(False))
            ).scalar_one()
    except Exception as exc:  # the answer says "down"; the reason is for the log, not the caller
        log.warning("health: the database cannot be reached: %s", exc)
        doc = {"status": "error", "database": "unreachable", "pending_events": None}
        doc["last_tick"] = iso(settings.ticks.last())
        return JSONResponse(doc, status_code=503)
    return {
        "status": "ok",
        "database": "ok",
        "pending_events": int(pending),
        "last_tick": iso(settings.ticks.last()),
    }


# HEAD too: load balancers' and monitors' checks often send it, and read a 405 as "down".
@health_router.head("/health", include_in_schema=False)
def health_head(service: ServiceDep, settings: SettingsDep) -> Response:
    answer = health(service, settings)
    status = answer.status_code if isinstance(answer, Response) else 200
    return Response(status_code=status)


# ---- inventory ---------------------------------------------------------------------------


@router.get("/inventory", tags=["inventory"], summary="Stock rows, as `inventory list --json`")
def list_inventory(service: ServiceDep, sku: str | None = None) -> list[dict[str, Any]]:
    return service.list_inventory(sku)


@router.put("/inventory/{sku:path}", tags=["inventory"], summary="Set on hand (absolute)")
def set_on_hand(service: ServiceDep, sku: str, body: OnHandIn) -> dict[str, Any]:
    return service.change_stock(sku, body.warehouse, body.on_hand, "set", API_ACTOR)


@router.post(
    "/inventory/{sku:path}/adjust", tags=["inventory"], summary="Change on hand by a delta"
)
def adjust(service: ServiceDep, sku: str, body: QtyIn) -> dict[str, Any]:
    return service.change_stock(sku, body.warehouse, body.qty, "adjusted", API_ACTOR)


@router.post("/inventory/{sku:path}/receive", tags=["inventory"], summary="Receive units")
def receive(service: ServiceDep, sku: str, body: QtyIn) -> dict[str, Any]:
    return service.change_stock(sku, body.warehouse, body.qty, "received", API_ACTOR)


# ---- allocation --------------------------------------------------------------------------


@router.post("/allocate", tags=["allocation"], summary="Allocate, as `allocate --json`")
def allocate(service: ServiceDep, body: AllocateIn) -> dict[str, Any]:
    if body.ids is not None and (body.all or body.where):
        raise BadInput("name orders in `ids` or select them with `all`/`where`, not both")
    if body.ids is None and not body.all and not body.where:
        raise BadInput("say which orders: `ids`, `all: true` or `where`", field="ids")
    if body.ids is not None and not body.ids:
        raise BadInput("`ids` is empty: name at least one order", field="ids")
    where = where_clause(body.where, service.clock(), label="where") if body.where else None
    order_by = parse_order_by(body.order_by, label="order_by") if body.order_by else []
    report = service.allocate(
        body.ids,
        where,
        order_by,
        body.policy,
        actor=API_ACTOR,
        dry_run=body.dry_run,
        warehouses=checked_from(service, body.from_),
    )
    # The shape of `dibs allocate --json`: a dry run says so.
    return {**report.as_json(), "dry_run": True} if body.dry_run else report.as_json()


# ---- rules -------------------------------------------------------------------------------


#: Why a file sent with curl's `-d` does not parse: `-d` sends a form and drops the newlines.
FLATTENED = (
    "the body came as a form on one line: curl's -d drops a file's newlines; send it with "
    "--data-binary @rules.yaml -H 'Content-Type: application/yaml'"
)


async def _rule_file(request: Request) -> tuple[Any, list[Any], str]:
    data = await request.body()
    name = request.headers.get("x-dibs-filename") or "rules.yaml"
    ruleset, diagnostics = await run_in_threadpool(check_ruleset_bytes, data, name)
    form = "application/x-www-form-urlencoded" in request.headers.get("content-type", "")
    errors = [n for n, d in enumerate(diagnostics) if d.severity == "error"]
    if form and errors and b"\n" not in data.strip():
        first = errors[0]
        diagnostics = list(diagnostics)
        diagnostics[first] = dataclasses.replace(diagnostics[first], hint=FLATTENED)
    return ruleset, diagnostics, name


def _diagnostic(d: Any) -> dict[str, Any]:
    return {
        "file": d.file,
        "line": d.line,
        "column": d.column,
        "severity": d.severity,
        "message": d.message,
        "hint": d.hint,
    }


_YAML_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/yaml": {"schema": {"type": "string"}}},
    }
}


@router.post("/rules/check", tags=["rules"], summary="Check a rule file", openapi_extra=_YAML_BODY)
async def rules_check(
    request: Request, service: Annotated[Service, Depends(get_service)]
) -> dict[str, Any]:
    ruleset, diagnostics, _ = await _rule_file(request)
    errors = [d for d in diagnostics if d.severity == "error"]
    if ruleset is not None and not errors and ruleset.tests:
        # As `dibs rules check` refuses them: test orders an import would refuse.
        errors = invalid_test_orders(ruleset)
        diagnostics = sorted([*diagnostics, *errors], key=lambda d: (d.line, d.column))
    if ruleset is not None and not errors:
        # As `dibs rules check` warns where it runs: unset secrets, warehouses without stock.
        diagnostics = [
            *diagnostics,
            *await run_in_threadpool(environment_warnings, service.store, ruleset, os.environ),
        ]
    return {
        "ok": ruleset is not None and not errors,
        "ruleset": None if ruleset is None or errors else ruleset.hash,
        "diagnostics": [_diagnostic(d) for d in diagnostics],
    }


@router.post(
    "/rules/preview",
    tags=["rules"],
    summary="What a rule file's next tick would do now; writes nothing",
    openapi_extra=_YAML_BODY,
)
async def rules_preview(
    request: Request,
    service: Annotated[Service, Depends(get_service)],
    all_open: bool = False,
) -> dict[str, Any]:
    ruleset, diagnostics, name = await _rule_file(request)
    errors = [d for d in diagnostics if d.severity == "error"]
    if ruleset is None or errors:
        raise ApiError(
            400,
            f"{name}: {plural(len(errors), 'error')}; the rule file was not loaded",
            field="body",
            problems=[str(d) for d in errors or diagnostics],
        )
    from engine.run.preview import preview

    result = await run_in_threadpool(preview, service, ruleset, all_open)
    doc: dict[str, Any] = result.as_json()
    return doc
