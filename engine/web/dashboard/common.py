"""What every dashboard page shares: the templates, the sign-in gate, CSRF, status labels.

Pages are rendered on the server (Jinja2) and work without JavaScript: links and forms that post
normally. htmx (vendored under /static) only swaps the part of a page a form changes; the server
always answers with the whole page and htmx picks the part (`hx-select`), so there is one
template per page and no second rendering path to drift.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape

from engine.errors import plural
from engine.model import Actor
from engine.service import Service
from engine.web.auth import SESSION_COOKIE, csrf_token, csrf_valid, session_valid
from engine.web.deps import holding_nul
from engine.web.settings import Settings

#: Who the ledger names for a change made on the dashboard.
DASHBOARD_ACTOR = Actor("dashboard")


@dataclass(frozen=True)
class StatusLook:
    """How a status shows: the CLI's colour (engine.cli.output.STATUS_STYLE), an icon and words,
    so it never relies on colour alone."""

    label: str
    icon: str
    css: str


#: Colours as the CLI's: allocated green, partially yellow, could not red, overallocated bold
#: magenta, unallocated dim.
STATUS_LOOKS: dict[str, StatusLook] = {
    "all": StatusLook("All open", "", "all"),
    "unallocated": StatusLook("Unallocated", "○", "unallocated"),
    "allocated": StatusLook("Allocated", "✓", "allocated"),
    "partially_allocated": StatusLook("Partially allocated", "◐", "partially_allocated"),
    "could_not_allocate": StatusLook("Could not allocate", "✕", "could_not_allocate"),
    "overallocated": StatusLook("Overallocated", "⚠", "overallocated"),
    # stock states of the Inventory page
    "short": StatusLook("Short", "✕", "could_not_allocate"),
    "ok": StatusLook("Covered", "✓", "allocated"),
    # order statuses
    # a clock face ("…" read as a label cut short)
    "awaiting_fulfillment": StatusLook("Awaiting fulfillment", "◷", "unallocated"),
    "shipped": StatusLook("Shipped", "➜", "allocated"),
    "cancelled": StatusLook("Cancelled", "✕", "unallocated"),
    "dropshipped": StatusLook("Dropshipped", "➜", "allocated"),
}


def look(status: str) -> StatusLook:
    return STATUS_LOOKS.get(status, StatusLook(status.replace("_", " "), "", "unallocated"))


def why_heading(allocation_status: str) -> str:
    """The order page's "why" heading as a sentence: "Why it is allocated", but "Why it could
    not be allocated" (the label "Could not allocate" is no adjective)."""
    if allocation_status == "could_not_allocate":
        return "Why it could not be allocated"
    return f"Why it is {look(allocation_status).label.lower()}"


_env: Environment | None = None


def templates() -> Environment:
    global _env
    if _env is None:
        _env = Environment(
            loader=PackageLoader("engine.web", "templates"),
            autoescape=select_autoescape(default=True),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        _env.globals["look"] = look
        _env.globals["why_heading"] = why_heading
        _env.filters["qs"] = query_string
        _env.filters["when"] = short_time
        _env.filters["plural"] = plural
        _env.globals["anchor"] = anchor
    return _env


def query_string(params: Mapping[str, Any]) -> str:
    """`?a=1&b=2` of the non-empty values (for links that keep the filters)."""
    kept = {k: v for k, v in params.items() if v not in (None, "", False)}
    return "?" + urlencode(kept) if kept else "?"


def anchor(sku: str, warehouse: str) -> str:
    """The id of a stock row on the Inventory page (letters, digits and dashes)."""
    return "stock-" + "".join(c if c.isalnum() else "-" for c in f"{sku}--{warehouse}")


def short_time(value: str | None) -> str:
    """`2026-11-26T03:54:35Z` -> `2026-11-26 03:54` (the full value stays in a title)."""
    if not value:
        return ""
    return value.replace("T", " ")[:16]


def service_of(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def ruleset_of(request: Request) -> Any:
    return getattr(request.app.state, "ruleset", lambda: None)()


class SignInNeeded(Exception):
    """Raised by `signed_in` when the request has no valid session (answered 401 + sign-in)."""


def session_of(request: Request) -> str | None:
    return request.cookies.get(SESSION_COOKIE)


def signed_in(request: Request) -> None:
    """Every dashboard page: a valid session cookie (SPEC §10), else 401 with the sign-in form."""
    if not session_valid(settings_of(request), session_of(request)):
        raise SignInNeeded()


def csrf_for(request: Request) -> str:
    return csrf_token(settings_of(request), session_of(request))


class Unstorable(Exception):
    """A value of the address or a form holds a NUL (`%00`): answered 400 with a page; on
    PostgreSQL, which stores no NUL, it reached the database (a 503 page)."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def _refuse_nul(pairs: Any) -> None:
    name = holding_nul(pairs)
    if name is not None:
        raise Unstorable(name)


def storable_address(request: Request) -> None:
    """Every dashboard page: no path or query value with a NUL."""
    _refuse_nul([*request.path_params.items(), *request.query_params.multi_items()])


class CsrfRefused(Exception):
    """A form without the session's CSRF token (answered 403, nothing done)."""


async def checked_form(request: Request) -> dict[str, Any]:
    """The posted form, after checking its CSRF token; lists for repeated fields (`ids`)."""
    form = await request.form()
    if not csrf_valid(settings_of(request), session_of(request), str(form.get("csrf_token", ""))):
        raise CsrfRefused()
    _refuse_nul(form.multi_items())
    out: dict[str, Any] = {}
    for key in form:
        values = form.getlist(key)
        out[key] = values if key in ("ids",) else values[-1]
    return out


NOTICE_COOKIE = "dibs_notice"


def set_notice(response: Response, notice: Mapping[str, Any]) -> None:
    """A one-time message for the next page (the result of an action, after its redirect)."""
    raw = json.dumps(notice, separators=(",", ":"))[:3000].encode()
    value = base64.urlsafe_b64encode(raw).decode()
    response.set_cookie(NOTICE_COOKIE, value, max_age=60, httponly=True, samesite="strict")


def _notice(request: Request) -> dict[str, Any] | None:
    value = request.cookies.get(NOTICE_COOKIE)
    if not value:
        return None
    try:
        notice = json.loads(base64.urlsafe_b64decode(value.encode()))
    except (ValueError, binascii.Error):
        return None
    if not isinstance(notice, dict) or not isinstance(notice.get("text"), str):
        return None
    details = notice.get("details")
    notice["details"] = [str(d) for d in details] if isinstance(details, list) else []
    return notice


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """A page: the template with what every page needs (csrf token, where we are, a notice)."""
    settings = settings_of(request)
    page = templates().get_template(name)
    notice = _notice(request)
    html = page.render(
        csrf=csrf_for(request),
        path=request.url.path,
        signed=settings.api_token is not None,
        notice=context.pop("notice", None) or notice,
        **context,
    )
    response = HTMLResponse(html, status_code=status_code)
    if notice is not None:
        response.delete_cookie(NOTICE_COOKIE, httponly=True, samesite="strict")
    return response


def local_path(value: str | None, default: str = "/") -> str:
    """A return address that stays on this site (`/…` but not `//host`)."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return default
