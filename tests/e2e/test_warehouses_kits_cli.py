"""SPEC §12 through the `dibs` command: kits commands, `--from`, and their refusals."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from engine.store import Store
from tests.e2e.conftest import Dibs
from tests.helpers import snapshot

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "warehouses"


def test_kits_commands_and_allocate_from(dibs: Dibs, tmp_path: Path) -> None:
    dibs("inventory", "import", str(EXAMPLES / "inventory.csv"))
    dibs("kits", "set", "GIFTBOX", "MUG:1", "TEA:2")
    assert dibs.json("kits", "list") == [
        {
            "kit": "GIFTBOX",
            "components": [{"sku": "MUG", "qty": 1}, {"sku": "TEA", "qty": 2}],
            "available": 4,
            "warehouses": {"east": 1, "main": 3},
        }
    ]
    rows = [r for r in dibs.json("inventory", "list", "--sku", "GIFTBOX")]
    assert [(r["warehouse"], r["available"], r["kit"]) for r in rows] == [
        ("east", 1, True),
        ("main", 3, True),
    ]
    assert "kit" in dibs("inventory", "list").stdout
    dibs("orders", "add", "G1", "--channel", "web", "--line", "GIFTBOX:2", "--line", "MUG:1")
    out = dibs.json("allocate", "G1", "--from", "east,main")
    assert out["results"] == [{"id": "G1", "before": "unallocated", "after": "allocated"}]
    show = dibs.json("orders", "show", "G1")
    assert [(x["sku"], x["reserved"], x["warehouses"]) for x in show["lines"]] == [
        ("GIFTBOX", 2, {"main": 2}),
        ("MUG", 1, {"main": 1}),
    ]
    assert "main: 2" in dibs("orders", "show", "G1").stdout
    history = dibs.json("history", "G1")
    assert {(h["sku"], h["warehouse"], h["delta"]) for h in history} == {
        ("MUG", "main", 2),
        ("TEA", "main", 4),
        ("MUG", "main", 1),
    }
    result = dibs("kits", "remove", "GIFTBOX", expect=1)
    assert "open orders hold reservations for it (G1)" in result.stderr
    dibs("orders", "ship", "G1")
    dibs("kits", "remove", "GIFTBOX")
    assert dibs.json("kits", "list") == []


def _rows(dibs: Dibs) -> dict[str, list[str]]:
    store = Store.open(dibs.db)
    try:
        return snapshot(store)
    finally:
        store.dispose()


def test_kits_import_and_refusals_write_nothing(dibs: Dibs, tmp_path: Path) -> None:
    dibs("inventory", "set", "MUG", "3")
    good = tmp_path / "kits.csv"
    shutil.copy(EXAMPLES / "kits.csv", good)
    assert "set 2 kits" in dibs("kits", "import", str(good)).stderr
    before = _rows(dibs)
    bad = tmp_path / "bad.csv"
    bad.write_text("kit,component,qty\nBOX,SPOON,1\nBOX,SPOON,2\nNEST,GIFTBOX,1\n")
    result = dibs("kits", "import", str(bad), expect=2)
    assert f"{bad}:3: kit 'BOX' lists component 'SPOON' again (first on line 2)" in result.stderr
    nested = tmp_path / "nested.csv"
    nested.write_text("kit,component,qty\nNEST,GIFTBOX,1\n")
    result = dibs("kits", "import", str(nested), expect=2)
    assert f"{nested}:2: kit 'NEST' cannot contain 'GIFTBOX'" in result.stderr
    for args, reason in [
        (("kits", "set", "MUG", "TEA:1"), "'MUG' is a component of kit 'GIFTBOX'"),
        (("kits", "set", "SELF", "SELF:1"), "cannot contain itself"),
        (("kits", "set", "X", "TEA:0"), "qty must be a positive integer"),
        (("kits", "set", "X", "TEA"), "expected COMPONENT:QTY"),
        (("inventory", "set", "GIFTBOX", "4"), "'GIFTBOX' is a kit"),
        (("allocate", "--all", "--from", "main,nowhere"), "no stock row exists in warehouse"),
        (("allocate", "--all", "--from", "main,main"), "listed twice"),
    ]:
        result = dibs(*args, expect=2)
        assert reason in result.stderr, (args, result.stderr)
        assert result.stderr.startswith("dibs: error: "), result.stderr
    assert "no kit 'NOPE'" in dibs("kits", "remove", "NOPE", expect=1).stderr
    assert _rows(dibs) == before  # nothing written by any refusal


def test_worked_example_runs_with_its_rules(dibs: Dibs) -> None:
    dibs("inventory", "import", str(EXAMPLES / "inventory.csv"))
    dibs("kits", "import", str(EXAMPLES / "kits.csv"))
    dibs("orders", "import", str(EXAMPLES / "orders.json"))
    checked = dibs("rules", "check", str(EXAMPLES / "rules.yaml"))
    assert "0 warnings" in checked.stdout
    dibs("rules", "test", str(EXAMPLES / "rules.yaml"))
    dibs("run", str(EXAMPLES / "rules.yaml"), "--once")
    statuses = {o["id"]: o["allocation_status"] for o in dibs.json("orders", "list")}
    assert statuses == {
        "W-1001": "allocated",
        "W-1002": "allocated",
        "W-1003": "allocated",
        "W-1004": "allocated",
        "W-1005": "could_not_allocate",
    }
    canada = dibs.json("orders", "show", "W-1002")
    assert {wh for x in canada["lines"] for wh in x["warehouses"]} == {"east"}
    why = dibs.json("explain", "W-1005", "--rules", str(EXAMPLES / "rules.yaml"))
    assert [w["warehouse"] for w in why["warehouses"]] == ["main", "east"]
    assert "short component TEA" in why["summary"]
    text = dibs("explain", "W-1005", "--from", "east").stdout
    assert "warehouse east: lacks" in text and "Kit GIFTBOX @ east" in text
    typo = Path(dibs.cwd) / "typo.yaml"
    typo.write_text(
        (EXAMPLES / "rules.yaml").read_text().replace('["east", "main"]', '["eats", "main"]')
    )
    result = dibs("rules", "check", str(typo))
    assert (
        "warning: rule canada-from-east: no stock row exists in warehouse 'eats'" in result.stderr
    )
    assert json.loads(dibs("kits", "list", "--json").stdout)[0]["kit"] == "COZY"
