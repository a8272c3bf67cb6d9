"""`dibs orders import` of channel files (plain and --sync), and edits by hand, as a user types
them: the Shopify export CSV fixture, Shopify and WooCommerce JSON, and the refusals."""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.conftest import Dibs

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "channels"
SHOPIFY_CSV = str(FIXTURES / "shopify_orders_export.csv")
SHOPIFY_JSON = str(FIXTURES / "shopify_order.json")
WOO_JSON = str(FIXTURES / "woocommerce_order.json")
OUTCOMES = ["created", "updated", "unchanged", "cancelled", "shipped", "stale", "conflicts"]


def test_shopify_export_imports_then_syncs_as_unchanged(dibs: Dibs) -> None:
    first = dibs("orders", "import", SHOPIFY_CSV)
    assert "imported 3 orders" in first.stderr
    assert "'#1004': has nothing to ship" in first.stderr  # a gift-card-only order
    shown = {o["id"]: o for o in dibs.json("orders", "list", "--all")}
    assert {k: v["status"] for k, v in shown.items()} == {
        "#1001": "awaiting_fulfillment",
        "#1002": "shipped",
        "#1003": "cancelled",
    }
    one = dibs.json("orders", "show", "#1001")
    assert one["ship_to"]["postal_code"] == "02134"  # the export's leading apostrophe dropped
    assert one["tags"] == ["Wholesale", "vip"]
    again = dibs("orders", "import", SHOPIFY_CSV, "--sync")
    assert "3 unchanged" in again.stdout and "0 created" in again.stdout
    assert json.loads(dibs("orders", "import", SHOPIFY_CSV, "--sync", "--json").stdout) == {
        **{name: [] for name in OUTCOMES},
        "unchanged": ["#1001", "#1002", "#1003"],
    }


def test_shopify_and_woocommerce_json_sync_with_a_channel_name(dibs: Dibs) -> None:
    report = json.loads(dibs("orders", "import", SHOPIFY_JSON, "--sync", "--json").stdout)
    assert report["created"] == ["#1001"]
    assert list(report) == OUTCOMES
    woo = dibs("orders", "import", WOO_JSON, "--sync", "--channel", "wc-eu", "--json")
    assert json.loads(woo.stdout)["created"] == ["727"]
    shown = dibs.json("orders", "show", "727")
    assert (shown["channel"], shown["attributes"]["woocommerce_id"]) == ("wc-eu", "727")
    forced = dibs(
        "orders", "import", WOO_JSON, "--format", "woocommerce-json", "--sync", "--channel", "wc-eu"
    )
    assert "1 unchanged" in forced.stdout
    # Without --channel the copy is from channel `woocommerce`, not the order's: another shop's
    # order of the same number as far as dibs can tell, so a conflict that changes nothing.
    other = dibs("orders", "import", WOO_JSON, "--sync")
    assert "0 updated" in other.stdout and "1 conflicts" in other.stdout
    assert (
        "conflict: order '727': an order of channel 'wc-eu' in dibs, the copy is from channel "
        "'woocommerce'" in other.stdout + other.stderr
    )
    assert dibs.json("orders", "show", "727")["channel"] == "wc-eu"


def test_a_newer_copy_updates_and_a_cancelled_one_cancels(dibs: Dibs, tmp_path: Path) -> None:
    order = json.loads(Path(SHOPIFY_JSON).read_text())
    dibs("inventory", "set", "MUG-12OZ", "10")
    dibs("orders", "import", SHOPIFY_JSON)
    dibs("allocate", "#1001")
    changed = {**order, "updated_at": "2026-03-03T08:00:00-05:00", "cancelled_at": "2026-03-03"}
    (tmp_path / "late.json").write_text(json.dumps({"order": changed}))
    report = json.loads(dibs("orders", "import", "late.json", "--sync", "--json").stdout)
    assert report["cancelled"] == ["#1001"]
    assert dibs.json("inventory", "list")[0]["allocated"] == 0
    (tmp_path / "old.json").write_text(json.dumps({**order, "note": "older"}))
    assert json.loads(dibs("orders", "import", "old.json", "--sync", "--json").stdout)["stale"] == [
        "#1001"
    ]


def test_a_bad_channel_file_is_refused_whole_with_every_problem(dibs: Dibs, tmp_path: Path) -> None:
    text = Path(SHOPIFY_CSV).read_text(encoding="utf-8-sig")
    bad = text.replace(",2,Enamel mug - 12 oz,", ",two,Enamel mug - 12 oz,", 1)
    bad = bad.replace("2026-03-03 18:02:44 -0500", "yesterday", 1)
    (tmp_path / "bad.csv").write_text(bad)
    out = dibs("orders", "import", "bad.csv", "--sync", expect=2)
    assert "bad.csv:2: order '#1001': Lineitem quantity must be a positive integer" in out.stderr
    assert "order '#1002': Created at must be an ISO-8601 timestamp" in out.stderr
    # Refused whole before the database was opened: not even an empty one was made.
    assert "no database at" in dibs("orders", "list", expect=2).stderr
    js = json.loads(Path(SHOPIFY_JSON).read_text())
    js["line_items"][0]["sku"] = None
    (tmp_path / "bad.json").write_text(json.dumps({"orders": [js]}))
    out = dibs("orders", "import", "bad.json", expect=2)
    assert "bad.json:orders[0]: order '#1001': line_items[0].sku is missing" in out.stderr


def test_an_unrecognised_format_says_what_was_tried(dibs: Dibs, tmp_path: Path) -> None:
    (tmp_path / "what.csv").write_text("order,item\n1,2\n")
    out = dibs("orders", "import", "what.csv", expect=2)
    assert "tried shopify-csv" in out.stderr and "--format" in out.stderr
    out = dibs("orders", "import", "what.csv", "--format", "nope", expect=2)
    assert "unknown --format 'nope'" in out.stderr and "shopify-csv" in out.stderr


def test_a_known_id_without_sync_is_summarised_not_listed(dibs: Dibs, tmp_path: Path) -> None:
    rows = [
        {"id": f"W{n}", "channel": "web", "lines": [{"sku": "MUG", "qty": 1}]} for n in range(30)
    ]
    (tmp_path / "day.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    dibs("orders", "import", "day.jsonl")
    out = dibs("orders", "import", "day.jsonl", expect=2)
    assert "30 order id(s) already exist" in out.stderr and "--sync" in out.stderr
    assert "... and 20 more" in out.stderr
    assert out.stderr.count("already exists") == 10


def test_orders_edit_fields_and_tags_by_hand(dibs: Dibs) -> None:
    dibs("orders", "add", "A", "--channel", "web", "--line", "MUG:1")
    dibs("orders", "add", "B", "--channel", "web", "--line", "MUG:1", "--tag", "fraud-review")
    dibs(
        "orders",
        "edit",
        "A",
        "--shipping-method",
        "overnight",
        "--country",
        "de",
        "--state",
        "BE",
        "--city",
        "Berlin",
        "--postal-code",
        "10115",
        "--total",
        "19.90",
        "--warehouse",
        "east",
        "--attr",
        "gift=yes",
        "--line",
        "MUG:2",
    )
    a = dibs.json("orders", "show", "A")
    assert a["ship_to"] == {
        "name": None,
        "country": "DE",
        "state": "BE",
        "city": "Berlin",
        "postal_code": "10115",
    }
    assert (a["shipping_method"], a["total"], a["warehouse"]) == ("overnight", "19.90", "east")
    assert (a["attributes"], a["lines"][0]["qty"]) == ({"gift": "yes"}, 2)
    dibs("orders", "edit", "A", "--attr", "gift=")
    assert dibs.json("orders", "show", "A")["attributes"] == {}
    out = dibs("orders", "untag", "A", "B", "fraud-review")
    assert "untagged B" in out.stderr and "1 already lacked it" in out.stderr
    dibs("orders", "tag", "A", "B", "vip")
    assert dibs.json("orders", "show", "B")["tags"] == ["vip"]
    assert "'GHOST'" in dibs("orders", "tag", "A", "GHOST", "vip", expect=1).stderr
    assert "'GHOST'" in dibs("orders", "edit", "GHOST", "--city", "X", expect=1).stderr
    assert (
        "--country 'Germany'"
        in dibs("orders", "edit", "A", "--country", "Germany", expect=2).stderr
    )
    assert "--total '-3'" in dibs("orders", "edit", "A", "--total", "-3", expect=2).stderr
    assert "--attr" in dibs("orders", "edit", "A", "--attr", "novalue", expect=2).stderr
    assert "nothing to change" in dibs("orders", "edit", "A", expect=2).stderr


def test_one_imported_or_synced_order_is_counted_in_the_singular(
    dibs: Dibs, tmp_path: Path
) -> None:
    path = tmp_path / "one.jsonl"
    path.write_text(
        json.dumps({"id": "S-1", "channel": "web", "lines": [{"sku": "MUG", "qty": 1}]})
    )
    assert f"imported 1 order from {path}" in dibs("orders", "import", str(path)).stderr
    assert f"synced 1 order from {path}:" in dibs("orders", "import", "--sync", str(path)).stdout


def test_a_native_file_without_placed_at_syncs_again_as_unchanged(
    dibs: Dibs, tmp_path: Path
) -> None:
    """Each sync gave the orders the time of that import: all `updated`, moved to the back."""
    path = tmp_path / "web.jsonl"
    path.write_text(
        json.dumps({"id": "S-1", "channel": "web", "lines": [{"sku": "MUG", "qty": 1}]}) + "\n"
    )
    dibs("orders", "import", "--sync", str(path))
    placed = dibs.json("orders", "show", "S-1")["placed_at"]
    again = json.loads(dibs("orders", "import", "--sync", "--json", str(path)).stdout)
    assert (again["unchanged"], again["updated"]) == (["S-1"], [])
    assert dibs.json("orders", "show", "S-1")["placed_at"] == placed
