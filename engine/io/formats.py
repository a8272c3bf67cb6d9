"""The names of the order file formats `dibs orders import` reads (standard library only).

A module of its own, outside `channels/` (whose package imports every adapter), so that the
command line can offer `--format` without loading the readers (docs/cli.md, "Start-up")."""

from __future__ import annotations

DIBS = "dibs"
SHOPIFY_CSV = "shopify-csv"
SHOPIFY_JSON = "shopify-json"
WOOCOMMERCE_JSON = "woocommerce-json"
#: Every format `dibs orders import --format` accepts.
FORMATS = (DIBS, SHOPIFY_CSV, SHOPIFY_JSON, WOOCOMMERCE_JSON)
