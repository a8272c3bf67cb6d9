"""The Rules page (`/rules`): the file in force (`dibs serve --rules FILE`) with its diagnostics
and tests, the recent ticks, a preview of the next tick, and the diff against an edited or
uploaded file. Previews are the real tick in a rolled-back transaction (engine.run.preview)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import UploadFile

from engine.errors import DibsError
from engine.run.filechecks import environment_warnings
from engine.run.preview import diff, preview
from engine.run.ruletests import run_tests
from engine.store import Store
from engine.web.dashboard.common import (
    checked_form,
    render,
    ruleset_of,
    service_of,
    settings_of,
    signed_in,
    storable_address,
)
from rules.errors import Diagnostic
from rules.loader import check_ruleset_bytes, ruleset_hash
from rules.ruleset import RuleSet

router = APIRouter(
    include_in_schema=False, dependencies=[Depends(signed_in), Depends(storable_address)]
)

#: Rows of a preview or diff shown in full.
SHOWN_ROWS = 200
EDITED_NAME = "edited.yaml"


def _diagnostic(d: Diagnostic) -> dict[str, Any]:
    return {
        "where": f"{d.file}:{d.line}:{d.column}",
        "severity": d.severity,
        "message": d.message,
        "hint": d.hint,
    }


def _in_force(ruleset: RuleSet | None, store: Store) -> dict[str, Any] | None:
    """The file in force: its text on disk, whether that is what runs, its diagnostics."""
    if ruleset is None:
        return None
    doc: dict[str, Any] = {"path": ruleset.path, "hash": ruleset.hash, "text": None}
    try:
        data = Path(ruleset.path).read_bytes()
    except OSError as exc:
        doc["read_error"] = f"{ruleset.path}: cannot read the file ({exc.strerror})"
        doc["diagnostics"] = [_diagnostic(d) for d in ruleset.warnings]
        return doc
    doc["text"] = data.decode("utf-8", errors="replace")
    doc["changed_on_disk"] = ruleset_hash(data) != ruleset.hash
    _, diagnostics = check_ruleset_bytes(data, ruleset.path)
    # As `dibs rules check` warns where it runs: unset secrets, warehouses without stock.
    diagnostics.extend(environment_warnings(store, ruleset, os.environ))
    doc["diagnostics"] = [_diagnostic(d) for d in diagnostics]
    doc["rules"] = [
        {
            "name": r.name,
            "priority": r.priority,
            "enabled": r.enabled,
            "text": r.text,
            "description": r.description,
        }
        for r in ruleset.rules
    ]
    return doc


def _tests(ruleset: RuleSet | None) -> list[dict[str, Any]]:
    if ruleset is None:
        return []
    try:
        outcomes = run_tests(ruleset)
    except DibsError as exc:
        return [
            {
                "name": "(the tests could not run)",
                "line": 0,
                "passed": False,
                "failures": [str(exc), *getattr(exc, "problems", [])],
            }
        ]
    return [
        {"name": o.name, "line": o.line, "passed": o.passed, "failures": o.failures}
        for o in outcomes
    ]


def _next_tick(request: Request, ruleset: RuleSet | None) -> dict[str, Any] | None:
    if ruleset is None:
        return None
    try:
        return preview(service_of(request), ruleset).as_json()
    except DibsError as exc:
        return {"error": str(exc)}


def _page(
    request: Request, status_code: int = 200, candidate: dict[str, Any] | None = None
) -> HTMLResponse:
    ruleset = ruleset_of(request)
    in_force = _in_force(ruleset, service_of(request).store)
    return render(
        request,
        "dashboard/rules.html",
        status_code,
        title="Rules",
        in_force=in_force,
        tests=_tests(ruleset),
        ticks=settings_of(request).ticks.recent(),
        last_tick=settings_of(request).ticks.last(),
        next_tick=_next_tick(request, ruleset),
        candidate=candidate,
        edited_text=(candidate or {}).get("text") or (in_force or {}).get("text") or "",
        shown=SHOWN_ROWS,
    )


@router.get("/rules", response_class=HTMLResponse)
def rules_page(request: Request) -> HTMLResponse:
    return _page(request)


async def _candidate_bytes(form: dict[str, Any]) -> tuple[bytes, str]:
    """The uploaded file when one was chosen, else the textarea's text."""
    upload = form.get("upload")
    if isinstance(upload, UploadFile) and upload.filename:
        data = await upload.read()
        if data:
            return data, Path(upload.filename).name
    text = str(form.get("text", "")).replace("\r\n", "\n")
    return text.encode(), EDITED_NAME


@router.post("/rules/preview")
async def preview_candidate(request: Request) -> Response:
    """Check an edited or uploaded file; when it is valid, preview it against the file in force."""
    form = await checked_form(request)
    data, name = await _candidate_bytes(form)
    all_open = form.get("all_open") == "1"
    candidate: dict[str, Any] = {
        "name": name,
        "text": data.decode("utf-8", errors="replace"),
        "all_open": all_open,
    }
    if not data.strip():
        candidate["diagnostics"] = [
            {
                "where": f"{name}:1:1",
                "severity": "error",
                "message": "the file is empty",
                "hint": None,
            }
        ]
        return _page(request, 400, candidate)
    ruleset, diagnostics = check_ruleset_bytes(data, name)
    candidate["diagnostics"] = [_diagnostic(d) for d in diagnostics]
    if ruleset is None or any(d.severity == "error" for d in diagnostics):
        return _page(request, 400, candidate)
    service = service_of(request)
    candidate["diagnostics"].extend(
        _diagnostic(d) for d in environment_warnings(service.store, ruleset, os.environ)
    )
    try:
        mine = preview(service, ruleset, all_open=all_open)
        candidate["preview"] = mine.as_json()
        current = ruleset_of(request)
        if current is not None:
            candidate["diff"] = diff(mine, preview(service, current, all_open=all_open))
    except DibsError as exc:
        candidate["error"] = str(exc)
        return _page(request, 409, candidate)
    return _page(request, 200, candidate)
