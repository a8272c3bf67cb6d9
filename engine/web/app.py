"""The FastAPI application of `dibs serve`: `create_app(service, settings)`.

Nothing is built at import time: the caller opens the store (and so the engine) and hands the
service in, so tests build an app per database and the server builds exactly one.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from engine.service import Service
from engine.web import api, api_stock, dashboard, docs, errors, webhooks
from engine.web.errors import error_body
from engine.web.logs import RequestLog
from engine.web.settings import Settings


def create_app(
    service: Service, settings: Settings, ruleset: Callable[[], Any] | None = None
) -> FastAPI:
    """The app over `service`. `ruleset` returns the rule set the server runs (for explain)."""
    app = FastAPI(
        title="dibs",
        summary="Reserve stock for orders, by rules you can test.",
        version="1",
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    app.state.service = service
    app.state.settings = settings
    app.state.ruleset = ruleset or (lambda: None)
    errors.install(app)
    app.include_router(api_stock.health_router)
    app.include_router(api.router)
    app.include_router(api_stock.router)
    app.include_router(webhooks.router)
    app.include_router(docs.router)
    dashboard.install(app)
    # Added last = outermost: the size limit holds before any route (or FastAPI) reads a byte.
    app.add_middleware(BodyLimit, max_body=settings.max_body)
    app.add_middleware(RequestLog)
    return app


class BodyLimit:
    """ASGI middleware: 413 for a body over `max_body` bytes, on every route.

    A declared Content-Length over the limit is refused before reading; otherwise the body is
    read (chunked, or a Content-Length that lies) and counted as it arrives, and refused the
    moment it passes the limit. The app then sees the buffered body, so no route can be
    reached by a body the limit would refuse.
    """

    def __init__(self, app: ASGIApp, max_body: int) -> None:
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_body):
            await self._too_large(scope, send)
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                await self._too_large(scope, send)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _too_large(self, scope: Scope, send: Send) -> None:
        """The API's JSON error; for a dashboard page (a browser posting a form or an upload)
        a page saying the same, with a way back to the page it came from."""
        mib = self.max_body / (1024 * 1024)
        limit = f"{mib:g} MiB" if mib >= 1 else f"{self.max_body} bytes"
        message = f"the request body is larger than {limit}; nothing was read"
        path = str(scope.get("path", ""))
        if path.startswith(("/api/", "/webhooks/")):
            payload, kind = json.dumps(error_body(413, message)).encode(), b"application/json"
        else:
            section = path.split("/")[1] if path.count("/") > 1 else ""
            back = f"/{section}" if section in ("rules", "inventory") else "/"
            payload = (
                '<!doctype html><html lang="en"><meta charset="utf-8"><title>Too large · dibs'
                f'</title><p role="alert">{html.escape(message[:1].upper() + message[1:])}.</p>'
                f'<p><a href="{back}">Back</a></p></html>'
            ).encode()
            kind = b"text/html; charset=utf-8"
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", kind),
                    (b"content-length", str(len(payload)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})
