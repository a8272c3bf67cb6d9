"""Write the example merchant data set: orders.json, orders.csv and inventory.csv.

A small apparel-and-gifts shop selling on shopify, amazon, ebay and to wholesale buyers, over
the last days of November 2026. The output is deterministic (fixed seed, fixed dates), so the
committed files can be regenerated and diffed:

    .venv/bin/python examples/generate.py            # rewrites the files next to this script
    .venv/bin/python examples/generate.py --out DIR

Stock is derived from demand on purpose: most SKUs cover their orders, a few are short (so
some orders cannot be allocated or only partly), PUZZLE-1000 is at zero, and a handful of SKUs
are also stocked in a second warehouse `east` that East-coast orders ship from.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

SEED = 20261130
ORDER_COUNT = 300
CSV_ORDER_COUNT = 20
WINDOW_START = datetime(2026, 11, 26, tzinfo=UTC)
WINDOW = timedelta(days=5)  # 26th to the end of the 30th

# sku -> unit price (USD)
CATALOG: dict[str, Decimal] = {
    **{f"TSHIRT-{c}-{s}": Decimal("24.00") for c in ("BLK", "WHT") for s in ["S", "M", "L", "XL"]},
    "HOODIE-GRY-M": Decimal("58.00"),
    "HOODIE-GRY-L": Decimal("58.00"),
    "HOODIE-NVY-M": Decimal("58.00"),
    "HOODIE-NVY-L": Decimal("58.00"),
    "CAP-BLK": Decimal("22.00"),
    "CAP-KHK": Decimal("22.00"),
    "BEANIE-RED": Decimal("18.00"),
    "BEANIE-GRY": Decimal("18.00"),
    "SOCKS-3PK-M": Decimal("15.00"),
    "SOCKS-3PK-L": Decimal("15.00"),
    "MUG-12OZ": Decimal("14.00"),
    "MUG-16OZ": Decimal("16.00"),
    "TUMBLER-20OZ": Decimal("29.00"),
    "BOTTLE-750ML": Decimal("26.00"),
    "TOTE-CANVAS": Decimal("19.00"),
    "BACKPACK-25L": Decimal("79.00"),
    "NOTEBOOK-A5": Decimal("12.50"),
    "NOTEBOOK-A4": Decimal("15.50"),
    "PEN-GEL-BLK": Decimal("3.25"),
    "PEN-GEL-BLU": Decimal("3.25"),
    "STICKER-PACK": Decimal("6.00"),
    "POSTER-A2": Decimal("21.00"),
    "KEYCHAIN-LOGO": Decimal("8.00"),
    "CANDLE-CEDAR": Decimal("32.00"),
    "CANDLE-VANILLA": Decimal("32.00"),
    "PHONECASE-IP15": Decimal("35.00"),
    "PHONECASE-PX8": Decimal("35.00"),
    "APRON-CANVAS": Decimal("34.00"),
    "BLANKET-THROW": Decimal("89.00"),
    "PUZZLE-1000": Decimal("27.00"),
    "SCARF-WOOL": Decimal("45.00"),
    "GLOVES-WOOL-M": Decimal("29.00"),
}
# How much of its demand each SKU's stock covers; anything unlisted gets 1.2-1.6x.
SHORT = {
    "HOODIE-NVY-L": 0.5,
    "MUG-16OZ": 0.6,
    "CANDLE-CEDAR": 0.4,
    "BLANKET-THROW": 0.5,
    "SCARF-WOOL": 0.7,
    "TOTE-CANVAS": 0.55,  # wholesale buys these by the case: big orders go short first
}
OUT_OF_STOCK = {"PUZZLE-1000"}
# Stocked in the `east` warehouse as well; East-coast orders ship from there.
EAST_SKUS = ("TSHIRT-BLK-M", "TSHIRT-BLK-L", "MUG-12OZ", "HOODIE-GRY-L")
EAST_SHORT = {"HOODIE-GRY-L": 0.5}
EAST_STATES = {"NY", "MA", "NJ", "PA"}
WHOLESALE_SKUS = (
    "TSHIRT-BLK-M",
    "TSHIRT-BLK-L",
    "TSHIRT-WHT-M",
    "MUG-12OZ",
    "TOTE-CANVAS",
    "NOTEBOOK-A5",
    "CAP-BLK",
)


@dataclass(frozen=True)
class Place:
    country: str
    state: str | None
    city: str
    postal_code: str


PLACES: dict[str, tuple[Place, ...]] = {
    "US": (
        Place("US", "NY", "Brooklyn", "11201"),
        Place("US", "NY", "Buffalo", "14201"),
        Place("US", "MA", "Boston", "02116"),
        Place("US", "NJ", "Jersey City", "07302"),
        Place("US", "PA", "Philadelphia", "19103"),
        Place("US", "CA", "Oakland", "94612"),
        Place("US", "CA", "Los Angeles", "90012"),
        Place("US", "WA", "Seattle", "98101"),
        Place("US", "TX", "Austin", "78701"),
        Place("US", "IL", "Chicago", "60607"),
        Place("US", "CO", "Denver", "80202"),
        Place("US", "GA", "Atlanta", "30303"),
        Place("US", "FL", "Miami", "33130"),
        Place("US", "OR", "Portland", "97205"),
        Place("US", "MN", "Minneapolis", "55401"),
    ),
    "CA": (
        Place("CA", "ON", "Toronto", "M5V 2T6"),
        Place("CA", "QC", "Montréal", "H2X 1Y4"),
        Place("CA", "BC", "Vancouver", "V6B 1A1"),
        Place("CA", "AB", "Calgary", "T2P 1J9"),
    ),
    "GB": (
        Place("GB", None, "London", "EC1V 9HX"),
        Place("GB", None, "Manchester", "M1 1AE"),
        Place("GB", None, "Edinburgh", "EH1 1YZ"),
    ),
    "DE": (
        Place("DE", "BE", "Berlin", "10115"),
        Place("DE", "BY", "München", "80331"),
        Place("DE", "HH", "Hamburg", "20095"),
    ),
    "AU": (
        Place("AU", "NSW", "Sydney", "2000"),
        Place("AU", "VIC", "Melbourne", "3000"),
        Place("AU", "QLD", "Brisbane", "4000"),
    ),
}
FIRST = [
    "Ana",
    "Ben",
    "Chloé",
    "Dev",
    "Emma",
    "Femi",
    "Grace",
    "Hiro",
    "Ines",
    "Jonas",
    "Kai",
    "Lena",
    "Mateo",
    "Nora",
    "Omar",
    "Priya",
]
LAST = [
    "Alvarez",
    "Brooks",
    "Chen",
    "Dubois",
    "Eriksen",
    "Fischer",
    "Garcia",
    "Hughes",
    "Ito",
    "Jensen",
    "Kowalski",
    "Li",
]
COMPANIES = ("Corner Store Co", "Campus Outfitters", "Harbor Gifts Ltd", "Maple Goods Inc")
GIFT_MESSAGES = ("Happy birthday!", "Congrats on the new job", "Thank you", "Merry early Xmas")
SHIPPING_COST = {
    "ground": Decimal("5.95"),
    "two_day": Decimal("12.95"),
    "overnight": Decimal("24.95"),
    "international": Decimal("29.00"),
}
CHANNEL_PREFIX = {"shopify": "SH", "amazon": "AMZ", "ebay": "EB", "wholesale": "WH"}


def build_orders(rng: random.Random, count: int, first_number: int) -> list[dict[str, Any]]:
    """`count` orders as SPEC §2 mappings, sorted by placed_at."""
    orders = [_order(rng, first_number + n) for n in range(count)]
    orders.sort(key=lambda order: (order["placed_at"], order["id"]))
    return orders


def _order(rng: random.Random, number: int) -> dict[str, Any]:
    channel = rng.choices(("shopify", "amazon", "ebay", "wholesale"), (45, 30, 15, 10))[0]
    country = rng.choices(tuple(PLACES), (60, 12, 12, 8, 8))[0]
    place = rng.choice(PLACES[country])
    east = country == "US" and place.state in EAST_STATES and rng.random() < 0.6
    wholesale = channel == "wholesale"
    if wholesale:
        lines = _lines(rng, WHOLESALE_SKUS, (1, 2, 3, 4), (20, 35, 30, 15), big=True)
    elif east:
        lines = _lines(rng, EAST_SKUS, (1, 2), (75, 25), big=False)
    else:
        lines = _lines(rng, tuple(CATALOG), (1, 2, 3, 4), (60, 25, 10, 5), big=False)
    method = _shipping_method(rng, country, wholesale)
    subtotal = sum((CATALOG[line["sku"]] * line["qty"] for line in lines), Decimal(0))
    if wholesale:
        subtotal *= Decimal("0.60")  # wholesale price list
    total = (subtotal + SHIPPING_COST[method]).quantize(Decimal("0.01"))
    tags, attributes = _tags_and_attributes(rng, channel, number)
    placed = WINDOW_START + timedelta(seconds=rng.randrange(int(WINDOW.total_seconds())))
    name = rng.choice(COMPANIES) if wholesale else f"{rng.choice(FIRST)} {rng.choice(LAST)}"
    ship_to = {
        "name": name,
        "country": place.country,
        "state": place.state,
        "city": place.city,
        "postal_code": place.postal_code,
    }
    order: dict[str, Any] = {
        "id": f"{CHANNEL_PREFIX[channel]}-{number}",
        "channel": channel,
        "placed_at": placed.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "ship_to": {key: value for key, value in ship_to.items() if value is not None},
        "shipping_method": method,
        "total": total,
        "tags": tags,
    }
    if east:
        order["warehouse"] = "east"  # `main` is the default and left out
    if attributes:
        order["attributes"] = attributes
    order["lines"] = lines
    return order


def _lines(
    rng: random.Random,
    skus: Sequence[str],
    counts: Sequence[int],
    weights: Sequence[int],
    big: bool,
) -> list[dict[str, Any]]:
    count = min(rng.choices(counts, weights)[0], len(skus))
    chosen = rng.sample(list(skus), count)
    if big:
        return [{"sku": sku, "qty": 12 * rng.randint(2, 12)} for sku in chosen]
    return [{"sku": sku, "qty": rng.choices((1, 2, 3), (80, 15, 5))[0]} for sku in chosen]


def _shipping_method(rng: random.Random, country: str, wholesale: bool) -> str:
    if wholesale:
        return "ground"
    if country != "US":
        return "ground" if country == "CA" and rng.random() < 0.4 else "international"
    return rng.choices(("ground", "two_day", "overnight"), (60, 25, 15))[0]


def _tags_and_attributes(
    rng: random.Random, channel: str, number: int
) -> tuple[list[str], dict[str, Any]]:
    tags: list[str] = []
    attributes: dict[str, Any] = {}
    if channel == "wholesale":
        tags.append("wholesale")
        attributes["po_number"] = f"PO-{number * 7 % 100000:05d}"
        attributes["net_terms_days"] = rng.choice((30, 60))
        return tags, attributes
    if rng.random() < 0.06:
        tags.append("vip")
    if rng.random() < 0.08:
        tags.append("gift")
        attributes["gift_message"] = rng.choice(GIFT_MESSAGES)
    risk = round(rng.random() ** 3, 2)  # mostly low, a long tail of risky orders
    if channel == "shopify":
        attributes["risk_score"] = risk
        attributes["customer_orders"] = rng.choices((1, 2, 5, 12), (55, 25, 15, 5))[0]
        if attributes["customer_orders"] > 1:
            tags.append("repeat_customer")
    if risk > 0.9:
        tags.append("fraud_review")
    if channel == "amazon":
        attributes["is_prime"] = rng.random() < 0.7
        attributes["marketplace"] = rng.choice(("amazon.com", "amazon.co.uk", "amazon.de"))
    if channel == "ebay":
        attributes["seller_feedback"] = rng.randint(95, 100)
    return sorted(tags), attributes


def build_inventory(
    rng: random.Random, orders: Sequence[dict[str, Any]]
) -> list[tuple[str, int, str]]:
    """Stock rows `(sku, on_hand, warehouse)` sized against the orders' demand."""
    demand: Counter[tuple[str, str]] = Counter()
    for order in orders:
        for line in order["lines"]:
            demand[line["sku"], order.get("warehouse", "main")] += line["qty"]
    rows: list[tuple[str, int, str]] = []
    for sku in CATALOG:
        if sku in OUT_OF_STOCK:
            rows.append((sku, 0, "main"))
            continue
        factor = SHORT.get(sku) or rng.uniform(1.2, 1.6)
        rows.append((sku, math.floor(demand[sku, "main"] * factor) or 5, "main"))
    for sku in EAST_SKUS:
        factor = EAST_SHORT.get(sku) or rng.uniform(1.2, 1.5)
        rows.append((sku, math.floor(demand[sku, "east"] * factor), "east"))
    return rows


def write_json(path: Path, orders: Sequence[dict[str, Any]]) -> None:
    """An array of order objects; totals as JSON numbers with their exact cents."""
    text = json.dumps(list(orders), indent=2, ensure_ascii=False, default=_decimal)
    path.write_text(text + "\n", encoding="utf-8")


def _decimal(value: object) -> float:
    if isinstance(value, Decimal):
        return float(value)  # repr of a 2-place Decimal's float prints those 2 places
    raise TypeError(f"cannot serialise {type(value).__name__}")


ORDERS_CSV_HEADER = [
    "id",
    "channel",
    "placed_at",
    "sku",
    "qty",
    "ship_to_name",
    "country",
    "state",
    "city",
    "postal_code",
    "shipping_method",
    "total",
    "tags",
    "warehouse",
    "attr.gift_message",
]


def write_orders_csv(path: Path, orders: Sequence[dict[str, Any]]) -> None:
    """One row per order line; every row repeats its order's fields; tags joined by ';'."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(ORDERS_CSV_HEADER)
        for order in orders:
            ship_to = order["ship_to"]
            head = [
                order["id"],
                order["channel"],
                order["placed_at"],
            ]
            tail = [
                ship_to.get("name", ""),
                ship_to.get("country", ""),
                ship_to.get("state", ""),
                ship_to.get("city", ""),
                ship_to.get("postal_code", ""),
                order["shipping_method"],
                str(order["total"]),
                ";".join(order["tags"]),
                order.get("warehouse", ""),
                order.get("attributes", {}).get("gift_message", ""),
            ]
            for line in order["lines"]:
                writer.writerow([*head, line["sku"], line["qty"], *tail])


def write_inventory(path: Path, rows: Sequence[tuple[str, int, str]]) -> None:
    """`sku,on_hand,warehouse` rows, as `dibs inventory import` reads them."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(("sku", "on_hand", "warehouse"))
        writer.writerows(rows)


def generate(out: Path) -> list[Path]:
    """Write the three example files into `out`; returns their paths."""
    rng = random.Random(SEED)
    orders = build_orders(rng, ORDER_COUNT, 10001)
    # The CSV sample uses its own id range so both files can be imported into one database.
    csv_orders = build_orders(rng, CSV_ORDER_COUNT, 20001)
    for order in csv_orders:
        order["id"] = f"CSV-{order['id']}"
    # Stock is sized against both files' demand, since a tour imports both.
    inventory = build_inventory(rng, [*orders, *csv_orders])
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "orders.json", out / "orders.csv", out / "inventory.csv"]
    write_json(paths[0], orders)
    write_orders_csv(paths[1], csv_orders)
    write_inventory(paths[2], inventory)
    return paths


def main(argv: Sequence[str] | None = None) -> None:
    """Command line: regenerate the example files."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    args = parser.parse_args(argv)
    for path in generate(args.out):
        print(path)


if __name__ == "__main__":
    main()
