"""Who may use the server (SPEC §10): the API's bearer token, the dashboard's session and CSRF.

The API needs `Authorization: Bearer <DIBS_API_TOKEN>`, compared in constant time; a missing or
wrong token is 401 and says nothing else. Without `DIBS_API_TOKEN` the server only ever listens
on loopback (`engine.web.server` refuses anything else), and then the API is open to local
callers: that is the token-less development setup.

The dashboard signs in once with the same token and then holds a session cookie (HttpOnly,
SameSite=Strict, Secure behind TLS). The cookie is `<issued>.<HMAC(token, issued)>`: nothing to
store server-side, valid on every server that shares the token, and void as soon as the token
changes. Every form carries a CSRF token, an HMAC of the session, so a page of another site
cannot post a form in the user's name even if the browser sent the cookie.
"""

from __future__ import annotations

import hashlib
import hmac
import time

from fastapi import Request, Response

from engine.web.errors import ApiError
from engine.web.settings import Settings

SESSION_COOKIE = "dibs_session"
CSRF_FIELD = "csrf_token"
#: A dashboard session lasts a working day and a bit.
SESSION_SECONDS = 12 * 3600


def token_matches(expected: str, given: str) -> bool:
    """Constant-time comparison (as bytes, so any character is fine)."""
    return hmac.compare_digest(expected.encode(), given.encode())


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def check_api_token(request: Request, settings: Settings) -> None:
    """401 unless the request carries the configured token (open when none is configured)."""
    if settings.api_token is None:
        return
    given = bearer_token(request)
    if given is None or not token_matches(settings.api_token, given):
        raise ApiError(
            401, "missing or wrong API token", headers={"WWW-Authenticate": 'Bearer realm="dibs"'}
        )


# ---- the dashboard's session and CSRF tokens ------------------------------------------------


def _sign(secret: str, purpose: str, value: str) -> str:
    key = hashlib.sha256(f"dibs:{purpose}:".encode() + secret.encode()).digest()
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


def new_session(settings: Settings, now: float | None = None) -> str:
    """A fresh session cookie value for someone who just gave the right token."""
    if settings.api_token is None:
        raise ValueError("sessions need DIBS_API_TOKEN")
    issued = str(int(time.time() if now is None else now))
    return f"{issued}.{_sign(settings.api_token, 'session', issued)}"


def session_valid(settings: Settings, value: str | None, now: float | None = None) -> bool:
    """True for a cookie this token signed less than `SESSION_SECONDS` ago."""
    if settings.api_token is None:
        return True  # loopback without a token: nothing to sign in with
    if not value or "." not in value:
        return False
    issued, _, signature = value.partition(".")
    if not issued.isdigit():
        return False
    if not token_matches(_sign(settings.api_token, "session", issued), signature):
        return False
    age = (time.time() if now is None else now) - int(issued)
    return 0 <= age <= SESSION_SECONDS


def set_session_cookie(response: Response, settings: Settings, value: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        value,
        max_age=SESSION_SECONDS,
        httponly=True,
        samesite="strict",
        secure=settings.secure_cookies,
        path="/",
    )


def clear_session_cookie(response: Response, settings: Settings) -> None:
    response.delete_cookie(
        SESSION_COOKIE, httponly=True, samesite="strict", secure=settings.secure_cookies, path="/"
    )


def csrf_token(settings: Settings, session: str | None) -> str:
    """The token every dashboard form of this session carries. Without `DIBS_API_TOKEN`
    there is no session, and the key is the server's own random secret: a page of another
    site still cannot forge a form to the loopback dashboard."""
    secret = settings.api_token or settings.local_secret
    return _sign(secret, "csrf", session or "local")


def csrf_valid(settings: Settings, session: str | None, given: str | None) -> bool:
    if not given:
        return False
    return token_matches(csrf_token(settings, session), given)
