"""The HTTP side of one outbound webhook attempt: the signed body, the POST, and its answer.

`post` returns what an attempt gave, `(HTTP status or None, error or None)`; error None is
delivered. Recording it and deciding when to try again is `engine.run.deliveries`'s.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import TYPE_CHECKING

from engine.service.shapes import event_json
from engine.store import delivery_queue as queue

if TYPE_CHECKING:  # httpx is imported when a delivery is sent: a tick without one never pays
    import httpx

#: The most of an answer's body read (and thrown away) so its connection can be reused.
DRAIN_BYTES = 64 * 1024


def signature(secret: bytes, body: bytes) -> str:
    """The `X-Dibs-Signature` header value of `body`."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def body_of(due: queue.Due) -> bytes:
    """The POST body: the event as `events list --json` shows it, as compact UTF-8 JSON."""
    doc = event_json(due.event_id, due.type, due.at, due.order_id, due.payload)
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()


def client(timeout: float, transport: httpx.BaseTransport | None = None) -> httpx.Client:
    """A client for `post`: its connections held to each attempt's deadline."""
    import httpx

    from engine.run.http_deadline import with_deadlines

    return with_deadlines(httpx.Client(timeout=timeout, transport=transport))


def post(
    client: httpx.Client, url: str, secret: bytes, due: queue.Due, timeout: float
) -> tuple[int | None, str | None]:
    """POST one delivery to `url`: (the answer's status or None, why it failed or None).

    `timeout` is the attempt's deadline, for connecting, sending, the status line and headers
    and the (bounded) read of the body together, with a client from `client`."""
    import httpx

    from engine.run.http_deadline import within

    body = body_of(due)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "dibs-webhooks/1",
        "X-Dibs-Event-Id": str(due.event_id),
        "X-Dibs-Event-Type": due.type,
        "X-Dibs-Signature": signature(secret, body),
    }
    status: int | None = None
    try:
        until = time.monotonic() + timeout
        with (
            within(until),
            client.stream("POST", url, content=body, headers=headers) as answer,
        ):
            status = answer.status_code  # the status line is the answer
            _drain(answer, until)
    except httpx.TimeoutException:
        return status, f"no answer within {timeout:g} s"
    except Exception as exc:  # connection refused, DNS, TLS, a bad URL: all retried
        return status, f"{type(exc).__name__}: {exc}"
    return status, None if 200 <= status < 300 else f"HTTP {status}"


def _drain(answer: httpx.Response, until: float) -> None:
    """Read and drop a small answer's body by `until` (monotonic), so its connection goes
    back to the pool; a body that is large or dripped slowly is cut off (the connection is
    closed instead): the status has been read, and nothing waits on the rest."""
    import httpx

    read = 0
    try:
        for chunk in answer.iter_raw():
            read += len(chunk)
            if read > DRAIN_BYTES or time.monotonic() > until:
                return
    except httpx.HTTPError:
        return
