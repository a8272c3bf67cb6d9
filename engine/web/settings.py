"""What `dibs serve` is configured with: secrets from the environment, limits, the tick state."""

from __future__ import annotations

import os
import re
import secrets
import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from engine.errors import BadInput

#: SPEC §10: a body over 10 MiB is refused with 413.
MAX_BODY = 10 * 1024 * 1024


#: How many recent ticks the dashboard's Rules page can show.
RECENT_TICKS = 20


@dataclass
class TickState:
    """When the background tick last finished (the health endpoint's `last_tick`), and the
    summaries of the recent ticks that did something (the dashboard's Rules page)."""

    last_tick: datetime | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    recent_ticks: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=RECENT_TICKS))

    def remember(self, summary: dict[str, Any]) -> None:
        with self.lock:
            self.recent_ticks.appendleft(summary)

    def recent(self) -> list[dict[str, Any]]:
        """Newest first."""
        with self.lock:
            return list(self.recent_ticks)

    def ticked(self, at: datetime) -> None:
        with self.lock:
            self.last_tick = at

    def last(self) -> datetime | None:
        with self.lock:
            return self.last_tick


@dataclass
class Settings:
    """The server's secrets and limits. Empty secrets mean "not configured"."""

    api_token: str | None = None
    shopify_secret: str | None = None
    woocommerce_secret: str | None = None
    max_body: int = MAX_BODY
    #: Set the session cookie's Secure flag (behind TLS); off for plain-HTTP loopback use.
    secure_cookies: bool = False
    ticks: TickState = field(default_factory=TickState)
    #: Keys the dashboard's CSRF tokens when there is no API token (one per process).
    local_secret: str = field(default_factory=lambda: secrets.token_hex(32))
    #: One shop's own secret per channel (`DIBS_SHOPIFY_SECRET_SHOP_EU`): (platform, the
    #: channel's name as an environment name, `env_name`) -> secret.
    channel_secrets: dict[tuple[str, str], str] = field(default_factory=dict)

    def webhook_secret(self, platform: str, channel: str | None) -> str | None:
        """The secret a `platform` ("shopify", "woocommerce") delivery must be signed with:
        the channel's own (`?channel=NAME` on the webhook's URL) when one is set for it, else
        the platform's. A channel with a secret of its own takes no other: one shop cannot
        deliver orders into another's channel."""
        if channel is not None:
            own = self.channel_secrets.get((platform, env_name(channel)))
            if own is not None:
                return own
        return self.shopify_secret if platform == "shopify" else self.woocommerce_secret

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """`DIBS_API_TOKEN`, `DIBS_SHOPIFY_SECRET`, `DIBS_WOOCOMMERCE_SECRET`, a channel's
        own `DIBS_SHOPIFY_SECRET_<CHANNEL>` / `DIBS_WOOCOMMERCE_SECRET_<CHANNEL>`,
        `DIBS_SECURE_COOKIES=1`."""
        source = os.environ if env is None else env
        own: dict[tuple[str, str], str] = {}
        for platform in ("shopify", "woocommerce"):
            prefix = f"DIBS_{platform.upper()}_SECRET_"
            for name in sorted(n for n in source if n.startswith(prefix) and n != prefix):
                value = _secret(source, name)
                if value is not None:
                    own[(platform, name[len(prefix) :])] = value
        return cls(
            api_token=_secret(source, "DIBS_API_TOKEN"),
            shopify_secret=_secret(source, "DIBS_SHOPIFY_SECRET"),
            woocommerce_secret=_secret(source, "DIBS_WOOCOMMERCE_SECRET"),
            secure_cookies=source.get("DIBS_SECURE_COOKIES", "") in ("1", "true", "yes"),
            channel_secrets=own,
        )


def env_name(channel: str) -> str:
    """A channel's name as it ends an environment variable's: upper case, every character but
    ASCII letters and digits an underscore (`shop-eu` -> `SHOP_EU`)."""
    return re.sub(r"[^A-Z0-9]", "_", channel.upper())


def _secret(source: Mapping[str, str], name: str) -> str | None:
    """A secret from the environment; empty is unset. One with whitespace around it (an env
    file's stray space or line break) is refused (exit 2): no client sends it that way, so every
    request or delivery would be a 401 with nothing to say why; a blank one locked everyone out."""
    value = source.get(name) or None
    if value is not None and value != value.strip():
        how = "is only whitespace" if not value.strip() else "has spaces or a line break around it"
        example = " (e.g. export DIBS_API_TOKEN=$(openssl rand -hex 32))" if "TOKEN" in name else ""
        raise BadInput(
            f"{name} {how}: no request can match it, so every one would be refused (401); "
            f"set it to the secret alone{example}, or unset it"
        )
    return value
