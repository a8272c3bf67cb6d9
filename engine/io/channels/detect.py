"""Which kind of order file is this? `dibs`, `shopify-csv`, `shopify-json` or `woocommerce-json`.

Decided from the file's extension and its first bytes only (`HEAD_BYTES`, 64 KiB by default),
so detecting a 1 GB export reads no more than that:

- `.csv` (or no JSON-looking start): the header row. Shopify's export has `Name`,
  `Lineitem quantity` and `Lineitem sku`; the native CSV has `id`, `sku` and `qty`. A header
  short of those that still resembles one (a `Lineitem …` column; three of the native required
  columns) goes to that reader, which names the missing column; a header split by `;` or tabs
  instead of commas is refused saying so.
- `.json` / `.jsonl` / `.ndjson` (or a start of `{` / `[`): the key names in the head. Shopify
  orders carry `line_items` with `requires_shipping`, `admin_graphql_api_id`, `total_price`,
  `shipping_address`, `province_code`; WooCommerce orders `line_items` with
  `date_created_gmt`, `date_modified_gmt`, `order_key`, `postcode`, `method_title`; a native
  order has `lines` (and no `line_items`). A head is usually cut mid-object, so key names are
  scanned rather than parsed; the markers were chosen so that each appears in the first object
  of its channel and in no other format.
- An empty file (or `[]`) is `dibs`: the native reader then says exactly what is missing.

Anything else is a `FormatNotRecognised`, naming each format tried and what it looks for.
"""

from __future__ import annotations

import csv
import os
import re
from pathlib import Path

from engine.io.channels.common import ChannelError, Problem
from engine.io.fields import LINE_KEYS, ORDER_KEYS, SHIP_TO_KEYS
from engine.io.formats import DIBS, FORMATS, SHOPIFY_CSV, SHOPIFY_JSON, WOOCOMMERCE_JSON
from engine.io.import_csv import REQUIRED_COLUMNS
from engine.io.messages import separator_problem

#: How much of a file `sniff_format` reads.
HEAD_BYTES = 64 * 1024

_JSON_SUFFIXES = frozenset({".json", ".jsonl", ".ndjson"})
_SHOPIFY_CSV_COLUMNS = frozenset({"name", "lineitem quantity", "lineitem sku"})
_DIBS_CSV_COLUMNS = frozenset({"id", "sku", "qty"})
_DIBS_CSV_REQUIRED = frozenset(REQUIRED_COLUMNS)
_SHOPIFY_KEYS = frozenset(
    {
        "admin_graphql_api_id",
        "total_price",
        "requires_shipping",
        "shipping_address",
        "province_code",
    }
)
_WOOCOMMERCE_KEYS = frozenset(
    {"date_created_gmt", "date_modified_gmt", "order_key", "postcode", "method_title"}
)
# A JSON object key: a short string followed by a colon.
_KEY = re.compile(r'"([A-Za-z_][A-Za-z0-9_]{0,63})"\s*:')

_TRIED_CSV = (
    f"{SHOPIFY_CSV} (a header with Name, Lineitem quantity, Lineitem sku)",
    f"{DIBS} (a header with id, channel, placed_at, sku, qty)",
)
_TRIED_JSON = (
    f"{SHOPIFY_JSON} (orders with line_items and keys such as total_price, requires_shipping)",
    f"{WOOCOMMERCE_JSON} (orders with line_items and keys such as date_created_gmt, postcode)",
    f"{DIBS} (orders with lines of sku and qty)",
)


class FormatNotRecognised(ChannelError):
    """No format fits the file; `tried` lists what each format looks for."""

    def __init__(self, name: str, tried: tuple[str, ...], why: str) -> None:
        self.tried = tried
        # No `tried` when `why` is the whole answer (a `;`-separated CSV, a stock file): there
        # a list of formats and "name one with --format" only lead away from the fix.
        rest = f"; tried {'; '.join(tried)}; name one with --format ({', '.join(FORMATS)})"
        super().__init__([Problem(name, None, why + (rest if tried else ""))])


def read_head(path: str | os.PathLike[str], limit: int = HEAD_BYTES) -> bytes:
    """The first `limit` bytes of a file (all of a smaller one)."""
    with open(path, "rb") as handle:
        return handle.read(limit)


def sniff_format(path: str | os.PathLike[str], limit: int = HEAD_BYTES) -> str:
    """`detect_format` of a file on disk, reading only its head."""
    return detect_format(path, read_head(path, limit))


def detect_format(path: str | os.PathLike[str], head_bytes: bytes) -> str:
    """One of `FORMATS` for a file, from its name and its first bytes.

    Raises `FormatNotRecognised` (a `ChannelError`) when none fits.
    """
    name = str(path)
    suffix = Path(name).suffix.lower()
    head = head_bytes.decode("utf-8", errors="replace").removeprefix("\ufeff")
    start = head.lstrip()
    if suffix in _JSON_SUFFIXES or (suffix != ".csv" and start[:1] in ("{", "[")):
        return _json_format(name, start)
    return _csv_format(name, head)


#: The keys of a native order (SPEC §2) and of its parts: the native reader's own lists.
_NATIVE_KEYS = frozenset((*ORDER_KEYS, *SHIP_TO_KEYS, *LINE_KEYS))


def _json_format(name: str, start: str) -> str:
    if not start or re.fullmatch(r"\[\s*\]\s*", start):
        return DIBS
    if start[:1] not in ("{", "["):
        raise FormatNotRecognised(name, _TRIED_JSON, "does not start like JSON ({ or [)")
    keys = set(_KEY.findall(start))
    shopify = len(keys & _SHOPIFY_KEYS)
    woocommerce = len(keys & _WOOCOMMERCE_KEYS)
    if "line_items" in keys or shopify or woocommerce:
        if shopify > woocommerce:
            return SHOPIFY_JSON
        if woocommerce > shopify:
            return WOOCOMMERCE_JSON
        raise FormatNotRecognised(
            name, _TRIED_JSON, "has line_items but cannot be told apart as Shopify or WooCommerce"
        )
    if "lines" in keys or keys <= _NATIVE_KEYS:
        # Only native keys, or no object key in sight (a deep nest of arrays, one huge
        # number, …): a dibs order file, maybe a broken one; its reader says what is wrong.
        return DIBS
    raise FormatNotRecognised(name, _TRIED_JSON, "holds no order this reader knows")


def _csv_format(name: str, head: str) -> str:
    first_line = head.splitlines()[0] if head.strip() else ""
    if not first_line.strip():
        return DIBS
    try:
        header = next(csv.reader([first_line]), [])
    except csv.Error:
        header = []
    columns = {cell.strip().casefold() for cell in header}
    if columns >= _SHOPIFY_CSV_COLUMNS:
        return SHOPIFY_CSV
    if columns >= _DIBS_CSV_COLUMNS:
        return DIBS
    # Short of a column (or two misnamed): the reader of the format it resembles names what is
    # missing, which says more than "no format uses this header".
    if any(c.startswith("lineitem ") for c in columns):
        return SHOPIFY_CSV
    if len(columns & _DIBS_CSV_REQUIRED) >= 3:
        return DIBS
    separator = separator_problem(first_line)
    if separator:
        raise FormatNotRecognised(name, (), separator)
    if columns >= {"sku", "on_hand"}:
        raise FormatNotRecognised(
            name, (), "is a stock file (sku,on_hand): `dibs inventory import` reads it"
        )
    raise FormatNotRecognised(name, _TRIED_CSV, "has a header no order format uses")
