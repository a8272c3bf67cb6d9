"""GET /api/v1/openapi.json and the docs page beside it (SPEC §10).

The page is rendered here from the OpenAPI document, with no script or stylesheet from
elsewhere: the server works, and documents itself, without a network.
"""

from __future__ import annotations

import copy
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse
from jinja2 import Environment, PackageLoader, select_autoescape

from engine.web.deps import require_token_or_session
from engine.web.errors import HTTP_CODES

OPENAPI_URL = "/api/v1/openapi.json"

router = APIRouter(dependencies=[Depends(require_token_or_session)], include_in_schema=False)

_env: Environment | None = None


def _templates() -> Environment:
    global _env
    if _env is None:
        _env = Environment(
            loader=PackageLoader("engine.web", "templates"), autoescape=select_autoescape()
        )
    return _env


#: The one error shape (engine.web.errors), as the document describes every refusal.
_ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "field"],
            "properties": {
                "code": {"type": "string", "enum": sorted(set(HTTP_CODES.values()))},
                "message": {"type": "string"},
                "field": {"anyOf": [{"type": "string"}, {"type": "null"}]},
                "problems": {"type": "array", "items": {"type": "string"}},
            },
        }
    },
}
_WHEN = {
    "400": "Bad input; nothing was written",
    "401": "No or wrong token (a webhook: no or wrong signature)",
    "404": "No such order",
    "409": "The order's state does not allow it",
    "413": "The body is over the size limit",
}


def api_document(app: Any) -> dict[str, Any]:
    """FastAPI's document with the answers dibs really gives: FastAPI lists a `422` with its
    own `{"detail": […]}` for every route, which dibs never sends (bad input is `400` with the
    one error shape), and none of the refusals a client must handle."""
    document: dict[str, Any] = copy.deepcopy(app.openapi())
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    schemas["Error"] = _ERROR_SCHEMA
    for path, methods in document.get("paths", {}).items():
        for method, op in methods.items():
            answers = op.setdefault("responses", {})
            answers.pop("422", None)
            for status in _statuses(path, method, "requestBody" in op):
                answers[status] = {
                    "description": _WHEN[status],
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                    },
                }
    return document


def _statuses(path: str, method: str, has_body: bool) -> list[str]:
    if path == "/api/v1/health":
        return []
    out = ["400", "401"]
    if "{order_id}" in path or path == "/api/v1/allocate":
        out.append("404")
    if path.startswith("/api/v1/orders") and method != "get":
        out.append("409")
    if has_body or method in ("post", "put", "patch"):
        out.append("413")
    return out


@router.get(OPENAPI_URL)
def openapi(request: Request) -> JSONResponse:
    return JSONResponse(api_document(request.app))


def _operations(document: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for path, methods in document.get("paths", {}).items():
        for method, op in methods.items():
            body = op.get("requestBody", {}).get("content", {})
            out.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "summary": op.get("summary", ""),
                    "params": [p["name"] for p in op.get("parameters", [])],
                    "body": ", ".join(body),
                }
            )
    return out


@router.get("/api/v1/docs")
def docs_page(request: Request) -> HTMLResponse:
    document = api_document(request.app)
    html = (
        _templates()
        .get_template("api_docs.html")
        .render(
            title=document["info"]["title"],
            openapi_url=OPENAPI_URL,
            operations=_operations(document),
        )
    )
    return HTMLResponse(html)
