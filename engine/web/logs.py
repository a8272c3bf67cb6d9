"""One log line per request (JSON with `--log-format json`), never a token or a signature.

A line says who asked what and how it went: method, path, status, duration, client address and,
for webhooks, the topic and delivery id. Headers are never logged (the bearer token and the
webhook signatures travel in them), and neither is the query string's `cursor` payload or any
body.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from datetime import UTC, datetime
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("dibs.serve")
access = logging.getLogger("dibs.access")

#: What a request line carries besides the message (the JSON format's keys).
_FIELDS = (
    "method",
    "path",
    "status",
    "ms",
    "client",
    "topic",
    "delivery",
    "tick",
)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in _FIELDS:
            value = getattr(record, key, None)
            if value is not None:
                doc[key] = value
        if record.exc_info:
            doc["error"] = self.formatException(record.exc_info)
        return json.dumps(doc, default=str)


def setup_logging(fmt: str) -> None:
    """dibs's loggers and uvicorn's to stderr, one line each (uvicorn's own access log is off:
    the request line below replaces it)."""
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    for name in ("dibs", "uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(logging.INFO)
        logger.propagate = False


class RequestLog:
    """ASGI middleware: after each HTTP request, one `dibs.access` line."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = [500]

        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, watch)
        finally:
            client = scope.get("client")
            state = scope.get("state") or {}
            extra = {
                "method": scope["method"],
                "path": scope["path"],
                "status": status[0],
                "ms": round((time.perf_counter() - started) * 1000, 1),
                "client": client[0] if client else None,
                "topic": state.get("webhook_topic"),
                "delivery": state.get("webhook_delivery"),
            }
            access.info(_line(extra), extra=extra)


def _line(extra: dict[str, Any]) -> str:
    """The text line: `POST /webhooks/shopify 200 3.1 ms from 127.0.0.1 topic orders/create
    delivery 9f2c…` (the JSON format has the same as keys); only method, path and status
    before the duration were in it, so a text log could not tell which delivery failed."""
    line = f"{extra['method']} {extra['path']} {extra['status']} {extra['ms']:.1f} ms"
    if extra["client"]:
        line += f" from {extra['client']}"
    for key in ("topic", "delivery"):
        if extra[key]:
            line += f" {key} {str(extra[key])[:200]}"
    return line
