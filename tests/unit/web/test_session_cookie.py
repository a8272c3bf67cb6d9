"""The dashboard's session cookie carries the flags SPEC §10 asks for."""

from __future__ import annotations

from fastapi import Response

from engine.web.auth import SESSION_COOKIE, clear_session_cookie, set_session_cookie
from engine.web.settings import Settings


def test_the_cookie_is_httponly_samesite_strict_and_secure_behind_tls() -> None:
    response = Response()
    set_session_cookie(response, Settings(api_token="t", secure_cookies=True), "1.abc")
    header = response.headers["set-cookie"]
    assert header.startswith(f"{SESSION_COOKIE}=1.abc")
    lowered = header.lower()
    assert "httponly" in lowered and "samesite=strict" in lowered and "secure" in lowered
    plain = Response()
    set_session_cookie(plain, Settings(api_token="t"), "1.abc")
    assert "secure" not in plain.headers["set-cookie"].lower()
    gone = Response()
    clear_session_cookie(gone, Settings(api_token="t"))
    assert (
        'dibs_session=""' in gone.headers["set-cookie"] or "Max-Age=0" in gone.headers["set-cookie"]
    )
