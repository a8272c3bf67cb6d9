"""The API's route class: a `/` sent as `%2F` belongs to the id or SKU it stands in.

Order ids and SKUs may hold any character, a `/` too (`SO/2026/1`), so their routes take a
`{name:path}` parameter. Starlette matches routes against the *decoded* path, where the order
`A/explain`, sent as `/orders/A%2Fexplain`, reads `/orders/A/explain`: the explain of order `A`.
An id ending in a route's word (`/explain`, `/history`, `/ship`, …) could not be fetched, and
`POST /orders/A%2Fship` shipped order `A`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import unquote_to_bytes

from fastapi.routing import APIRoute
from starlette.routing import Match
from starlette.types import Scope


class EncodedSlashRoute(APIRoute):
    """A route with words after its last parameter (`/orders/{id}/explain`) matches only when
    the request, as sent, has those words after plain slashes: `/orders/A%2Fexplain` then
    falls through to `/orders/{id}`, the order `A/explain` itself. A plain `/` still separates
    (`/orders/SO/2026/1/explain` explains `SO/2026/1`)."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, endpoint, **kwargs)
        tail = path.rsplit("}", 1)[1] if "}" in path else ""
        #: The words after the last parameter, one per segment (`(b"explain",)`).
        self.tail_segments = tuple(part.encode() for part in tail.split("/")[1:])

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child = super().matches(scope)
        raw = scope.get("raw_path")
        if match is Match.NONE or not self.tail_segments or not isinstance(raw, bytes):
            return match, child
        sent = raw.split(b"/")[-len(self.tail_segments) :]
        if tuple(unquote_to_bytes(part) for part in sent) != self.tail_segments:
            return Match.NONE, {}
        return match, child
