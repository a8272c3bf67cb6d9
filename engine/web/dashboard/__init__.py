"""The dashboard of SPEC §11: server-rendered pages over the same `Service` as the API.

`install(app)` mounts the pages, the static files (htmx and the stylesheet, served by the app
itself: no CDN, so the dashboard works on a machine with no internet) and the answers for a
visitor who is not signed in (401 with the sign-in form) or a form without its CSRF token (403).
"""

from __future__ import annotations

from importlib.resources import files

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from engine.web.dashboard import actions, inventory, login, orders, rules
from engine.web.dashboard.common import CsrfRefused, SignInNeeded, Unstorable, render


def install(app: FastAPI) -> None:
    static = files("engine.web") / "static"
    app.mount("/static", StaticFiles(directory=str(static)), name="static")
    for module in (login, orders, actions, inventory, rules):
        app.include_router(module.router)

    @app.exception_handler(SignInNeeded)
    async def _sign_in(request: Request, _: SignInNeeded) -> HTMLResponse:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        # After signing in, a GET comes back to where it was; a form post to the Orders page.
        return login.sign_in_page(request, target if request.method == "GET" else "/")

    @app.exception_handler(CsrfRefused)
    async def _csrf(request: Request, _: CsrfRefused) -> HTMLResponse:
        why = "This form is out of date (or was not sent by this dashboard); nothing was done."
        return _error_page(request, 403, "Form expired", why + " Reload the page and try again.")

    @app.exception_handler(Unstorable)
    async def _unstorable(request: Request, exc: Unstorable) -> HTMLResponse:
        why = f"{exc.name} holds a NUL character (%00), which no value can hold; nothing was done."
        return _error_page(request, 400, "Bad address", why)


def _error_page(request: Request, status: int, title: str, error: str) -> HTMLResponse:
    # Asked for an action's dry run (htmx swaps `#action-panel` in): the error is that panel,
    # else htmx finds nothing to swap and the button seems to do nothing.
    panel = request.headers.get("hx-target") == "action-panel"
    return render(request, "dashboard/error.html", status, title=title, error=error, panel=panel)


__all__ = ["install"]
