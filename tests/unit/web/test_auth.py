"""Pure checks of who may use the server: token, sessions, CSRF, signatures, bind address."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from engine.errors import BadInput
from engine.web.auth import (
    SESSION_SECONDS,
    csrf_token,
    csrf_valid,
    new_session,
    session_valid,
    token_matches,
)
from engine.web.server import check_bind, is_loopback
from engine.web.settings import Settings
from engine.web.webhooks import signature_valid

S = Settings(api_token="tok")


def test_token_comparison() -> None:
    assert token_matches("tok", "tok")
    assert not token_matches("tok", "tok ") and not token_matches("tok", "")
    assert token_matches("tök", "tök")  # any character, compared as bytes


def test_a_session_is_valid_until_it_expires_and_only_for_its_token() -> None:
    cookie = new_session(S, now=1_000_000)
    assert session_valid(S, cookie, now=1_000_000 + SESSION_SECONDS)
    assert not session_valid(S, cookie, now=1_000_001 + SESSION_SECONDS)
    assert not session_valid(S, cookie, now=999_000)  # issued in the future
    assert not session_valid(Settings(api_token="other"), cookie, now=1_000_000)
    issued, _, signature = cookie.partition(".")
    assert not session_valid(S, f"{int(issued) + 1}.{signature}", now=1_000_000)
    for junk in (None, "", "abc", "x.y", ".", "1."):
        assert not session_valid(S, junk, now=1_000_000)


def test_csrf_tokens_are_bound_to_the_session() -> None:
    one, two = new_session(S, now=1), new_session(S, now=2)
    assert csrf_valid(S, one, csrf_token(S, one))
    assert not csrf_valid(S, two, csrf_token(S, one))
    assert not csrf_valid(S, one, None) and not csrf_valid(S, one, "")


def test_csrf_without_an_api_token_uses_the_servers_own_secret() -> None:
    a, b = Settings(), Settings()
    assert csrf_valid(a, None, csrf_token(a, None))
    assert not csrf_valid(b, None, csrf_token(a, None))  # another server's secret
    assert not csrf_valid(a, None, None)


def test_webhook_signatures() -> None:
    body = b'{"id": 1}'
    good = base64.b64encode(hmac.new(b"sec", body, hashlib.sha256).digest()).decode()
    assert signature_valid("sec", body, good)
    assert signature_valid("sec", body, f" {good}\n")
    assert not signature_valid("sec", body + b" ", good)
    assert not signature_valid("other", body, good)
    assert not signature_valid(None, body, good) and not signature_valid("", body, good)
    assert not signature_valid("sec", body, None) and not signature_valid("sec", body, "é")


@pytest.mark.parametrize("host", ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost"])
def test_loopback_hosts(host: str) -> None:
    assert is_loopback(host)
    check_bind(host, Settings())


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.0.0.5", "example.com", ""])
def test_other_hosts_need_a_token(host: str) -> None:
    assert not is_loopback(host)
    with pytest.raises(BadInput, match="DIBS_API_TOKEN is not set"):
        check_bind(host, Settings())
    check_bind(host, Settings(api_token="t"))


def test_settings_from_the_environment() -> None:
    env = {"DIBS_API_TOKEN": "a", "DIBS_SHOPIFY_SECRET": "", "DIBS_SECURE_COOKIES": "1"}
    settings = Settings.from_env(env)
    assert settings.api_token == "a" and settings.shopify_secret is None
    assert settings.woocommerce_secret is None and settings.secure_cookies


@pytest.mark.parametrize(
    ("name", "value", "how"),
    [
        ("DIBS_API_TOKEN", "  ", "is only whitespace"),
        ("DIBS_API_TOKEN", "s3cret\n", "has spaces or a line break around it"),
        ("DIBS_SHOPIFY_SECRET", " shpss_1", "has spaces or a line break around it"),
        ("DIBS_WOOCOMMERCE_SECRET", "woo\t", "has spaces or a line break around it"),
    ],
)
def test_a_secret_with_whitespace_around_it_is_refused(name: str, value: str, how: str) -> None:
    """`DIBS_API_TOKEN="  "` started a server on 0.0.0.0 that refused every request (the bearer
    token a client sends is stripped), and a secret with an env file's stray line break made
    every webhook a 401, with nothing in either answer to say why."""
    with pytest.raises(BadInput) as info:
        Settings.from_env({name: value})
    assert str(info.value).startswith(f"{name} {how}: no request can match it"), str(info.value)


def test_a_channel_s_own_webhook_secret_is_read_and_taken_for_that_channel_only() -> None:
    env = {
        "DIBS_SHOPIFY_SECRET": "generic",
        "DIBS_SHOPIFY_SECRET_SHOP_EU": "eu",
        "DIBS_WOOCOMMERCE_SECRET_WC_2": "wc2",
    }
    settings = Settings.from_env(env)
    assert settings.webhook_secret("shopify", "shop-eu") == "eu"
    assert settings.webhook_secret("shopify", "Shop.EU") == "eu"  # the same environment name
    assert settings.webhook_secret("shopify", "shop-us") == "generic"
    assert settings.webhook_secret("shopify", None) == "generic"
    assert settings.webhook_secret("woocommerce", "wc-2") == "wc2"
    assert settings.webhook_secret("woocommerce", "shop-eu") is None  # no WooCommerce secret
    with pytest.raises(BadInput, match="DIBS_SHOPIFY_SECRET_SHOP_EU has spaces"):
        Settings.from_env({"DIBS_SHOPIFY_SECRET_SHOP_EU": "eu "})
