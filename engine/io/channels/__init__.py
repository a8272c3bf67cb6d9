"""Sales-channel adapters: Shopify and WooCommerce orders -> native dibs order mappings.

Each adapter is pure (text in, data out; no database, no clock, standard library only) and
returns a `ChannelRead`: the file's `ChannelOrder`s, each holding a native order mapping (the
shape of SPEC §2 that the native importer validates and builds an `Order` from) plus what a
sync needs that the mapping cannot say: the channel's status (`awaiting_fulfillment`,
`cancelled`, `shipped`) and its `updated_at`. A bad file raises `ChannelError` listing every
`Problem` in it, so the caller can refuse it whole (SPEC §8, §9).

    fmt = sniff_format(path)                       # or the user's --format
    read = read_channel(path.read_bytes(), str(path), fmt, channel=None)
    for order in read.orders: ...                  # order.mapping, order.status, order.updated_at

The field-by-field mappings are in each adapter's docstring and in docs/channels.md.
"""

from __future__ import annotations

from collections.abc import Callable

from engine.io.channels.common import (
    AWAITING_FULFILLMENT,
    CANCELLED,
    SHIPPED,
    ChannelError,
    ChannelOrder,
    ChannelRead,
    Problem,
    Skipped,
)
from engine.io.channels.detect import (
    HEAD_BYTES,
    FormatNotRecognised,
    detect_format,
    read_head,
    sniff_format,
)
from engine.io.channels.shopify_csv import read_shopify_csv
from engine.io.channels.shopify_json import read_shopify_json, shopify_order
from engine.io.channels.woocommerce import read_woocommerce_json, woocommerce_order
from engine.io.formats import DIBS, FORMATS, SHOPIFY_CSV, SHOPIFY_JSON, WOOCOMMERCE_JSON

__all__ = [
    "AWAITING_FULFILLMENT",
    "CANCELLED",
    "CHANNEL_FORMATS",
    "DIBS",
    "FORMATS",
    "HEAD_BYTES",
    "SHIPPED",
    "SHOPIFY_CSV",
    "SHOPIFY_JSON",
    "WOOCOMMERCE_JSON",
    "ChannelError",
    "ChannelOrder",
    "ChannelRead",
    "FormatNotRecognised",
    "Problem",
    "Skipped",
    "detect_format",
    "read_channel",
    "read_head",
    "read_shopify_csv",
    "read_shopify_json",
    "read_woocommerce_json",
    "shopify_order",
    "sniff_format",
    "woocommerce_order",
]

Reader = Callable[[bytes | str, str, str | None], ChannelRead]

#: The channel formats and their readers (`dibs`, the native format, is read elsewhere).
CHANNEL_FORMATS: dict[str, Reader] = {
    SHOPIFY_CSV: read_shopify_csv,
    SHOPIFY_JSON: read_shopify_json,
    WOOCOMMERCE_JSON: read_woocommerce_json,
}


def read_channel(data: bytes | str, name: str, fmt: str, channel: str | None = None) -> ChannelRead:
    """Read a channel file of format `fmt` (one of `CHANNEL_FORMATS`).

    `channel` overrides the orders' channel name (`--channel`). Raises `ChannelError` for bad
    input, and `ValueError` for a format that is not a channel format (a caller's mistake:
    `dibs` files go to the native reader).
    """
    reader = CHANNEL_FORMATS.get(fmt)
    if reader is None:
        raise ValueError(
            f"not a channel format: {fmt!r} (expected one of {sorted(CHANNEL_FORMATS)})"
        )
    return reader(data, name, channel)
