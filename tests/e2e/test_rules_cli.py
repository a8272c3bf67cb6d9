"""`dibs rules check|preview`, `dibs explain` and `--where` as a user types them."""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.conftest import Dibs

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _seed(dibs: Dibs) -> None:
    dibs("inventory", "import", str(EXAMPLES / "inventory.csv"))
    dibs("orders", "import", str(EXAMPLES / "orders.json"))


def test_check_clean_and_with_errors(dibs: Dibs, tmp_path: Path) -> None:
    ok = dibs("rules", "check", str(EXAMPLES / "rules.yaml"))
    assert ": ok: 8 rules (8 enabled), 4 tests, 0 warnings; ruleset " in ok.stdout
    one = tmp_path / "one.yaml"
    one.write_text(
        "version: 1\nrules:\n  - name: x\n    rule: when new order then allocate\n"
        "tests:\n  - name: t\n    orders: [{id: A, channel: web, lines: [{sku: W, qty: 1}]}]\n"
        "    expect: {A: could_not_allocate}\n"
    )
    # counts in words: "1 rule", "1 test", not "1 rules", "1 tests"
    assert (
        ": ok: 1 rule (1 enabled), 1 test, 0 warnings;" in dibs("rules", "check", str(one)).stdout
    )
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "version: 1\nrules:\n  - name: x\n"
        '    rule: when new order if ship_to.contry == "US" then allocate\n'
    )
    result = dibs("rules", "check", str(bad), expect=2)
    assert f"{bad}: 1 error; the rule file was not loaded" in result.stderr
    assert f"{bad}:4:" in result.stderr
    assert "ship_to.country" in result.stderr  # the did-you-mean hint
    dibs("rules", "check", str(tmp_path / "missing.yaml"), expect=2)


def test_preview_writes_nothing_then_run_does_it(dibs: Dibs, tmp_path: Path) -> None:
    _seed(dibs)
    db = tmp_path / "shop.db"
    before = db.read_bytes()
    doc = dibs.json("rules", "preview", str(EXAMPLES / "rules.yaml"))
    assert db.read_bytes() == before
    predicted = {o["id"]: o["after"] for o in doc["orders"]}
    dibs("run", str(EXAMPLES / "rules.yaml"), "--once")
    actual = {o["id"]: o["allocation_status"] for o in dibs.json("orders", "list")}
    assert {k: actual[k] for k in predicted} == predicted


def test_preview_against_shows_victims(dibs: Dibs, tmp_path: Path) -> None:
    _seed(dibs)
    fifo = tmp_path / "fifo.yaml"
    fifo.write_text("version: 1\nrules:\n  - name: fifo\n    rule: when new order then allocate\n")
    doc = dibs.json("rules", "preview", str(EXAMPLES / "rules.yaml"), "--against", str(fifo))
    assert doc["diff"]["differing"]
    for victim in doc["diff"]["victims"]:
        assert victim["reserved"] < victim["reserved_other"]
    text = dibs("rules", "preview", str(EXAMPLES / "rules.yaml"), "--against", str(fifo))
    assert "Victims" in text.stdout


def test_explain(dibs: Dibs) -> None:
    _seed(dibs)
    dibs("allocate", "--all")
    waiting = dibs.json("orders", "list", "--status", "could_not_allocate")[0]["id"]
    doc = dibs.json("explain", waiting, "--rules", str(EXAMPLES / "rules.yaml"))
    assert doc["allocation_status"] == "could_not_allocate"
    assert any(line["shortfall"] > 0 for line in doc["lines"])
    assert any(rule["matches"] for rule in doc["rules"])
    text = dibs("explain", waiting)
    assert "short of stock" in text.stdout
    dibs("explain", "NOPE", expect=1)
    json.dumps(doc)


def test_allocate_and_deallocate_where(dibs: Dibs) -> None:
    _seed(dibs)
    out = dibs.json("allocate", "--all", "--where", 'channel == "amazon"')
    assert out["results"]
    listed = {o["id"]: o for o in dibs.json("orders", "list")}
    assert all(listed[r["id"]]["channel"] == "amazon" for r in out["results"])
    untouched = [o for o in listed.values() if o["channel"] != "amazon"]
    assert all(o["allocation_status"] == "unallocated" for o in untouched)
    dibs("deallocate", "--where", 'channel == "amazon" and allocation_status == "allocated"')
    after = dibs.json("orders", "list", "--channel", "amazon")
    assert all(
        o["allocation_status"] in ("unallocated", "could_not_allocate", "partially_allocated")
        for o in after
    )
    bad = dibs("allocate", "--all", "--where", 'chanel == "amazon"', expect=2)
    assert "--where:1:1" in bad.stderr and "channel" in bad.stderr


def test_a_tag_longer_than_an_order_can_hold_is_refused_by_rules_check_and_orders_tag(
    dibs: Dibs, tmp_path: Path
) -> None:
    """A 101-character tag passed `rules check` and `orders tag`: on PostgreSQL the tick (and
    the command) then failed with the database's 'value too long', and on SQLite the order got
    a tag no import accepts. Both are bad input now (exit 2), at the tag's place."""
    long = "x" * 101
    rules = tmp_path / "long.yaml"
    rules.write_text(
        f'version: 1\nrules:\n  - name: x\n    rule: when new order then tag "{long}"\n'
    )
    result = dibs("rules", "check", str(rules), expect=2)
    assert f"{rules}:4:35: error: tag " in result.stderr
    assert "is 101 characters long; a tag has at most 100" in result.stderr
    dibs("orders", "add", "A", "--channel", "web", "--line", "W:1")
    refused = dibs("orders", "tag", "A", long, expect=2)
    assert "TAG" in refused.stderr and "at most 100" in refused.stderr
    assert dibs.json("orders", "show", "A")["tags"] == []
    dibs("orders", "tag", "A", "x" * 100)
    assert dibs.json("orders", "show", "A")["tags"] == ["x" * 100]


BAD_TEST_ORDERS = """version: 1
rules:
  - name: ship
    rule: when new order then allocate
tests:
  - name: bad address
    inventory: {MUG: 2}
    orders:
      - {id: A1, channel: web, lines: [{sku: MUG, qty: 1}]}
      - id: A2
        channel: web
        ship_to: {country: ZZZ}
        lines: [{sku: MUG, qty: 1}]
    steps:
      - orders:
          - {id: A3, lines: [{sku: MUG, qty: 1}]}
      - tick
    expect: {A1: allocated}
"""


def test_rules_check_reports_the_invalid_orders_of_the_tests_as_rules_test_does(
    dibs: Dibs, tmp_path: Path
) -> None:
    """An order of a test that the import refuses (a country code of three letters, an order
    with no channel) passed `rules check`: only `rules test` found it, and without a column.
    Both commands now refuse the file the same way, each problem at file:line:column."""
    rules = tmp_path / "bad.yaml"
    rules.write_text(BAD_TEST_ORDERS)
    check = dibs("rules", "check", str(rules), expect=2)
    assert f"{rules}: 2 errors; the rule file was not loaded" in check.stderr
    assert (
        f"{rules}:12:28: error: test 'bad address': order 'A2': ship_to.country must be a "
        "two-letter country code, got 'ZZZ'"
    ) in check.stderr
    assert (
        f"{rules}:16:13: error: test 'bad address', step 1: order 'A3': channel is required"
    ) in check.stderr
    test = dibs("rules", "test", str(rules), expect=2)
    assert test.stderr == check.stderr
    assert test.stdout == ""  # refused before any test ran


def test_an_unknown_warehouse_is_warned_at_its_name_with_a_did_you_mean(
    dibs: Dibs, tmp_path: Path
) -> None:
    """`allocate from [...]` naming a warehouse without stock was warned at the start of the
    rule (4:11), with no hint; in a folded rule of several actions the user had to hunt."""
    dibs("inventory", "set", "MUG", "5", "--warehouse", "east")
    dibs("inventory", "set", "MUG", "5", "--warehouse", "west")
    rules = tmp_path / "typo.yaml"
    rules.write_text(
        "version: 1\nrules:\n  - name: near\n"
        '    rule: when new order then allocate from ["east", "eats"]\n'
        "  - name: far\n    rule: >-\n      every 5 minutes\n"
        '      then allocate by unit from ["west", "nowhere"]\n'
    )
    result = dibs("rules", "check", str(rules))
    assert "2 warnings" in result.stdout
    assert (
        f"{rules}:4:54: warning: rule near: no stock row exists in warehouse 'eats' (yet); "
        "check the name\n  hint: did you mean `east`?\n"
    ) in result.stderr
    assert (
        f"{rules}:8:43: warning: rule far: no stock row exists in warehouse 'nowhere' (yet); "
        "check the name\n  hint: the warehouses with stock: east, west\n"
    ) in result.stderr
