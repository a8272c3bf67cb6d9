"""GET /api/v1/openapi.json and the docs page beside it (SPEC §10).

The page is rendered here from the OpenAPI document, with no script or stylesheet from
elsewhere: the server works, and documents itself, without a network.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse
from jinja2 import Environment, PackageLoader, select_autoescape

from engine.web.deps import require_token_or_session

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


@router.get(OPENAPI_URL)
def openapi(request: Request) -> JSONResponse:
    return JSONResponse(request.app.openapi())


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
    document = request.app.openapi()
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
