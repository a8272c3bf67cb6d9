"""What every route receives: the service, the settings, the token check."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request

from engine.model import Actor
from engine.service import Service
from engine.web.auth import SESSION_COOKIE, check_api_token, session_valid
from engine.web.settings import Settings

#: Who the ledger names for a change made through the API.
API_ACTOR = Actor("api")


def get_service(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def require_token(request: Request) -> None:
    """Every /api route but health: `Authorization: Bearer <DIBS_API_TOKEN>` (SPEC §10)."""
    check_api_token(request, get_settings(request))


def require_token_or_session(request: Request) -> None:
    """The API's documents also open for a dashboard session (a browser cannot send a bearer
    token when it follows a link)."""
    settings = get_settings(request)
    if session_valid(settings, request.cookies.get(SESSION_COOKIE)):
        return
    check_api_token(request, settings)


def get_ruleset(request: Request) -> Any:
    """The rule set the server runs with `--rules` (None without)."""
    return getattr(request.app.state, "ruleset", lambda: None)()


ServiceDep = Annotated[Service, Depends(get_service)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
