"""Signing in with the token, once (SPEC §10), and signing out."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from engine.web.auth import (
    clear_session_cookie,
    new_session,
    session_valid,
    set_session_cookie,
    token_matches,
)
from engine.web.dashboard.common import (
    checked_form,
    local_path,
    render,
    session_of,
    settings_of,
)

router = APIRouter(include_in_schema=False)


def sign_in_page(
    request: Request, next_path: str, status_code: int = 401, error: str | None = None
) -> HTMLResponse:
    """The sign-in form; 401 when it stands in for a page the visitor may not see yet."""
    response = render(
        request,
        "dashboard/login.html",
        status_code,
        next=next_path,
        error=error,
        title="Sign in",
        bare=True,
    )
    if request.headers.get("hx-request") and request.url.path != "/login":
        # htmx does not swap a 401: send the whole browser to the sign-in page instead.
        response.headers["HX-Redirect"] = "/login?next=" + next_path
    return response


@router.get("/login")
def login_page(request: Request, next: str | None = None) -> Response:
    settings = settings_of(request)
    target = local_path(next)
    if settings.api_token is None or session_valid(settings, session_of(request)):
        return RedirectResponse(target, status_code=303)
    return sign_in_page(request, target, status_code=200)


@router.post("/login")
async def login(request: Request) -> Response:
    settings = settings_of(request)
    form = await checked_form(request)
    target = local_path(form.get("next"))
    if settings.api_token is None:
        return RedirectResponse(target, status_code=303)
    given = str(form.get("token", ""))
    if not given or not token_matches(settings.api_token, given):
        return sign_in_page(request, target, 401, "That token is not the server's token.")
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(response, settings, new_session(settings))
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    await checked_form(request)
    response = RedirectResponse("/login", status_code=303)
    clear_session_cookie(response, settings_of(request))
    return response
