"""End-to-end user journeys through the `dibs` command (QA pass against SPEC §1-8).

Each test drives `dibs` the way a merchant would: each command in-process through the console
script's `main`, or a real process where the process matters (tests/e2e/conftest.py). Tests
marked `xfail(strict=True, reason="BUG: …")` pin a bug found in QA: fix the bug, then remove the
mark. PostgreSQL journeys read DIBS_TEST_POSTGRES_URL (each test gets its own schema) and skip
without it (fail in CI).
"""

from __future__ import annotations

import sqlite3
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import postgres_base_url
from tests.e2e.conftest import DIBS, Dibs, dibs_env

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


# ----------------------------------------------------------------------------------- helpers


def statuses(dibs: Dibs) -> dict[str, str]:
    return {o["id"]: o["allocation_status"] for o in dibs.json("orders", "list")}


def stock(dibs: Dibs, sku: str, warehouse: str = "main") -> dict[str, Any]:
    rows = [
        r for r in dibs.json("inventory", "list") if r["sku"] == sku and r["warehouse"] == warehouse
    ]
    assert len(rows) == 1, rows
    return rows[0]


def lines(dibs: Dibs, order_id: str) -> list[tuple[str, int, int]]:
    doc = dibs.json("orders", "show", order_id)
    return [(ln["sku"], ln["qty"], ln["reserved"]) for ln in doc["lines"]]


def write(path: Path, body: str) -> Path:
    path.write_text(body)
    return path


def raw(
    db: str, cwd: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run dibs without the helper's exit-code assertion (for bug probes)."""
    full_env = dibs_env(**(env or {}))
    return subprocess.run(
        [DIBS, "--db", db, *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=full_env,
        timeout=timeout,
        check=False,
    )


@pytest.fixture
def pg_dibs(tmp_path: Path) -> Iterator[Dibs]:
    """`dibs` against a fresh PostgreSQL schema of its own."""
    base = postgres_base_url()
    schema = f"qa_e2e_{uuid.uuid4().hex[:10]}"
    engine = create_engine(base)
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    yield Dibs(f"{base}{sep}options=-csearch_path%3D{schema}", tmp_path)
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def any_dibs(request: pytest.FixtureRequest, dibs: Dibs) -> Dibs:
    if request.param == "sqlite":
        return dibs
    pg: Dibs = request.getfixturevalue("pg_dibs")
    return pg


# ------------------------------------------------------------------------- merchant journeys


def test_everyday_journey_from_the_readme(any_dibs: Dibs) -> None:
    # The README's journey runs every command as the installed `dibs` in a process of its own
    # (the other journeys run in-process, tests/e2e/conftest.py): a lazily imported module that
    # a command forgot would pass in-process, where an earlier test had imported it.
    dibs = Dibs(any_dibs.db, any_dibs.cwd, process=True)
    dibs("inventory", "import", str(EXAMPLES / "inventory.csv"))
    dibs("orders", "import", str(EXAMPLES / "orders.json"))
    dibs("orders", "import", str(EXAMPLES / "orders.csv"))  # multi-line CSV orders
    assert lines(dibs, "CSV-SH-20011") == [("SOCKS-3PK-L", 1, 0), ("BACKPACK-25L", 1, 0)]

    before_inv = dibs.json("inventory", "list")
    dry = dibs.json("allocate", "--all", "--dry-run")
    assert set(dry) == {"results", "skipped", "dry_run"}
    assert dry.pop("dry_run") is True  # a dry run says so; a real run has no such key
    assert dibs.json("inventory", "list") == before_inv
    assert set(statuses(dibs).values()) == {"unallocated"}

    real = dibs.json("allocate", "--all")
    assert real == dry  # the dry run predicted the real run exactly
    for row in real["results"]:
        assert set(row) == {"id", "before", "after"}
    for row in dibs.json("inventory", "list"):
        assert set(row) == {"sku", "warehouse", "on_hand", "allocated", "available"}
        assert row["available"] == row["on_hand"] - row["allocated"]
        assert row["available"] >= 0  # allocation never over-promises

    waiting = dibs.json("orders", "list", "--status", "could_not_allocate,overallocated")
    assert waiting and {o["allocation_status"] for o in waiting} == {"could_not_allocate"}

    allocated = [o["id"] for o in dibs.json("orders", "list", "--status", "allocated")]
    oid = allocated[0]
    doc = dibs.json("orders", "show", oid)
    on_hand = {
        ln["sku"]: stock(dibs, ln["sku"], doc["warehouse"])["on_hand"] for ln in doc["lines"]
    }
    dibs("orders", "ship", oid)
    shipped = dibs.json("orders", "show", oid)
    assert (shipped["status"], shipped["allocation_status"]) == ("shipped", "unallocated")
    for ln in doc["lines"]:
        assert stock(dibs, ln["sku"], doc["warehouse"])["on_hand"] == on_hand[ln["sku"]] - ln["qty"]
    history = dibs.json("history", oid)
    assert {
        "at",
        "order",
        "line",
        "sku",
        "warehouse",
        "delta",
        "operation",
        "rule",
        "ruleset",
    } <= set(history[0])
    assert sum(h["delta"] for h in history) == 0


def test_coverage_drops_and_returns_in_reservation_order(any_dibs: Dibs) -> None:
    dibs = any_dibs
    dibs("inventory", "set", "W", "5")
    dibs("orders", "add", "A", "--channel", "web", "--line", "W:3", "--placed-at", "2026-01-01")
    dibs("orders", "add", "B", "--channel", "web", "--line", "W:3", "--placed-at", "2026-01-02")
    dibs(
        "orders",
        "add",
        "C",
        "--channel",
        "web",
        "--line",
        "W:1",
        "--line",
        "X:1",
        "--placed-at",
        "2026-01-03",
    )
    dibs.json("allocate", "--all")
    assert statuses(dibs) == {
        "A": "allocated",
        "B": "could_not_allocate",
        "C": "partially_allocated",
    }
    dibs("inventory", "set", "W", "2")  # both reservations lose cover (3 > 2, 4 > 2)
    assert statuses(dibs)["A"] == statuses(dibs)["C"] == "overallocated"
    assert stock(dibs, "W")["on_hand"] == 2  # allocation never touched on_hand
    dibs("inventory", "receive", "W", "1")  # A first reserved, A covered first
    assert statuses(dibs) == {"A": "allocated", "B": "could_not_allocate", "C": "overallocated"}
    dibs("inventory", "adjust", "W", "1")
    assert statuses(dibs)["C"] == "partially_allocated"
    # allocated/overallocated orders are left alone by allocate
    dibs("inventory", "adjust", "W", "-1")
    out = dibs.json("allocate", "A", "C")
    assert {r["id"]: (r["before"], r["after"]) for r in out["results"]} == {
        "A": ("allocated", "allocated"),
        "C": ("overallocated", "overallocated"),
    }
    explained = dibs.json("explain", "C")
    assert explained["allocation_status"] == "overallocated"


def test_policies_and_order_by(dibs: Dibs) -> None:
    dibs("inventory", "set", "P", "5")
    dibs("inventory", "set", "Q", "1")
    dibs(
        "orders",
        "add",
        "U1",
        "--channel",
        "web",
        "--line",
        "P:3",
        "--line",
        "Q:2",
        "--placed-at",
        "2026-01-01",
    )
    dibs(
        "orders",
        "add",
        "U2",
        "--channel",
        "web",
        "--line",
        "P:3",
        "--line",
        "Q:2",
        "--placed-at",
        "2026-01-02",
    )
    dibs("orders", "add", "U3", "--channel", "web", "--line", "P:3", "--placed-at", "2026-01-03")

    def after(*args: str) -> dict[str, str]:
        out = dibs.json("allocate", "--all", "--dry-run", *args)
        return {r["id"]: r["after"] for r in out["results"]}

    assert after() == {
        "U1": "partially_allocated",
        "U2": "could_not_allocate",
        "U3": "could_not_allocate",
    }
    assert after("--policy", "units") == {
        "U1": "partially_allocated",
        "U2": "partially_allocated",
        "U3": "could_not_allocate",
    }
    assert after("--policy", "all_or_nothing") == {
        "U1": "could_not_allocate",
        "U2": "could_not_allocate",
        "U3": "allocated",
    }
    out = dibs.json("allocate", "--all", "--dry-run", "--order-by", "placed_at desc")
    assert [r["id"] for r in out["results"]] == ["U3", "U2", "U1"]
    dibs("allocate", "--all", "--order-by", "garbage", expect=2)
    dibs("allocate", "--all", "--order-by", "total sideways", expect=2)
    assert set(statuses(dibs).values()) == {"unallocated"}  # dry runs and refusals wrote nothing


def test_all_or_nothing_counts_repeated_sku_lines_together(dibs: Dibs) -> None:
    dibs("inventory", "set", "W", "4")
    dibs("orders", "add", "X", "--channel", "web", "--line", "W:3", "--line", "W:3")
    out = dibs.json("allocate", "X", "--policy", "all_or_nothing")
    assert out["results"][0]["after"] == "could_not_allocate"
    assert stock(dibs, "W")["allocated"] == 0


def test_edit_split_and_closing_orders(dibs: Dibs) -> None:
    dibs("inventory", "set", "W", "6")
    dibs("orders", "add", "A", "--channel", "web", "--line", "W:4", "--placed-at", "2026-01-01")
    dibs("orders", "add", "B", "--channel", "web", "--line", "W:2", "--placed-at", "2026-01-02")
    dibs("allocate", "--all")
    dibs("orders", "edit", "A", "--line", "W:3")  # trimmed, keeps its place in the queue
    dibs("inventory", "set", "W", "3")
    assert statuses(dibs) == {"A": "allocated", "B": "overallocated"}
    dibs("orders", "edit", "A", "--line", "W:3", "--line", "V:1")
    assert statuses(dibs)["A"] == "partially_allocated"
    dibs("orders", "split", "A")
    assert lines(dibs, "A") == [("W", 3, 3)]
    assert lines(dibs, "A-1") == [("V", 1, 0)]
    assert statuses(dibs)["A-1"] == "unallocated"
    dibs("orders", "split", "A", expect=1)  # nothing left to move
    dibs("orders", "split", "A-1", expect=1)  # nothing reserved
    # closing several orders is all-or-nothing
    dibs("orders", "cancel", "B", "NOPE", expect=1)
    assert dibs.json("orders", "show", "B")["status"] == "awaiting_fulfillment"
    dibs("orders", "cancel", "B")
    dibs("orders", "dropship", "A-1")
    assert stock(dibs, "W") == {
        "sku": "W",
        "warehouse": "main",
        "on_hand": 3,
        "allocated": 3,
        "available": 0,
    }
    dibs("orders", "edit", "B", "--line", "W:1", expect=1)
    out = dibs.json("allocate", "B", "A-1")
    assert out["results"] == []
    assert {s["id"] for s in out["skipped"]} == {"B", "A-1"}
    dibs("allocate", "NOPE", expect=1)


def test_split_skips_an_existing_child_id(dibs: Dibs) -> None:
    dibs("inventory", "set", "W", "2")
    dibs(
        "orders",
        "add",
        "B",
        "--channel",
        "web",
        "--line",
        "W:5",
        "--tag",
        "vip",
        "--country",
        "us",
        "--shipping-method",
        "ground",
        "--placed-at",
        "2026-01-01",
    )
    dibs("orders", "add", "B-1", "--channel", "other", "--line", "Z:1")
    dibs("allocate", "B", "--policy", "units")
    dibs("orders", "split", "B")
    child = dibs.json("orders", "show", "B-2")
    assert (
        child["channel"],
        child["tags"],
        child["ship_to"]["country"],
        child["shipping_method"],
        child["placed_at"],
    ) == ("web", ["vip"], "US", "ground", "2026-01-01T00:00:00Z")
    assert lines(dibs, "B-2") == [("W", 3, 0)]
    assert dibs.json("orders", "show", "B-1")["channel"] == "other"


def test_reallocate_goes_to_the_back_of_the_queue(dibs: Dibs) -> None:
    dibs("inventory", "set", "W", "2")
    dibs("orders", "add", "A", "--channel", "web", "--line", "W:1", "--placed-at", "2026-01-01")
    dibs("orders", "add", "B", "--channel", "web", "--line", "W:1", "--placed-at", "2026-01-02")
    dibs("allocate", "--all")
    dibs.json("reallocate", "A")
    dibs("inventory", "set", "W", "1")
    assert statuses(dibs) == {"A": "overallocated", "B": "allocated"}
    deltas = [(h["operation"], h["delta"]) for h in dibs.json("history", "A")]
    assert deltas[:2] == [("allocate", 1), ("reallocate", -1)]
    assert deltas[2][1] == 1 and len(deltas) == 3


# ------------------------------------------------------------------------- imports, hostile


def test_bad_imports_are_refused_whole_with_file_and_line(dibs: Dibs, tmp_path: Path) -> None:
    bad_jsonl = write(
        tmp_path / "bad.jsonl",
        '{"id": "J3", "channel": "web", "lines": [{"sku": "W", "qty": 1}]}\n'
        '{"id": "J4", "channel": "web", "lines": [{"sku": "W", "qty": 0}]}\n'
        '{"id": "J5", "chanel": "web", "lines": [{"sku": "W", "qty": 1}]}\n'
        "{bad json\n",
    )
    err = dibs("orders", "import", str(bad_jsonl), expect=2).stderr
    assert "bad.jsonl:2:" in err and "bad.jsonl:3:" in err and "did you mean 'channel'" in err
    assert "bad.jsonl:4:2:" in err
    bad_csv = write(
        tmp_path / "bad.csv",
        "id,channel,placed_at,sku,qty,attr.note\n"
        'M1,web,2026-01-01,W,1,"a\nb"\n'
        "M1,amazon,2026-01-01,V,1,\n"
        "M2,web,2026-01-01,W,-1,\n",
    )
    err = dibs("orders", "import", str(bad_csv), expect=2).stderr
    assert "bad.csv:4:" in err and "bad.csv:5:" in err  # physical lines, after a multi-line cell
    for name, body in [
        ("empty.json", ""),
        ("obj.json", '{"id": "x"}'),
        ("e.csv", ""),
        ("x.txt", "x"),
        ("bin.csv", "\udcff"),
    ]:
        path = tmp_path / name
        path.write_bytes(body.encode("utf-8", "surrogateescape"))
        dibs("orders", "import", str(path), expect=2)
    (tmp_path / "dir.json").mkdir()
    assert "directory" in dibs("orders", "import", str(tmp_path / "dir.json"), expect=2).stderr
    dibs("orders", "import", str(tmp_path / "missing.json"), expect=2)
    inv = write(tmp_path / "inv.csv", "sku,on_hand\nA,5\nB,-1\nA,7\n")
    dibs("inventory", "import", str(inv), expect=2)
    assert dibs.json("orders", "list") == []
    assert dibs.json("inventory", "list") == []


def test_hostile_order_adds_and_quantities(dibs: Dibs) -> None:
    dibs("orders", "add", "A1", "--channel", "web", "--line", "W:1")
    dibs("orders", "add", "A1", "--channel", "web", "--line", "W:1", expect=2)
    for bad in (
        ["--line", "W:-1"],
        ["--line", "W"],
        ["--line", "W:1", "--country", "USA"],
        ["--line", "W:1", "--total", "-5"],
        ["--line", "W:1", "--total", "NaN"],
        ["--line", "W:1", "--placed-at", "yesterday"],
        ["--line", "W:99999999999999999999"],
    ):
        dibs("orders", "add", "A2", "--channel", "web", *bad, expect=2)
    dibs("inventory", "receive", "W", "-1", expect=2)
    dibs("inventory", "receive", "W", "0", expect=2)
    dibs("inventory", "set", "W", "-3", expect=2)
    dibs("inventory", "adjust", "W", "-10")  # negative on hand only through adjustments
    assert stock(dibs, "W")["on_hand"] == -10
    assert [o["id"] for o in dibs.json("orders", "list")] == ["A1"]
    dibs("orders", "add", "Ü-1", "--channel", "wéb", "--line", "😀:2")
    assert lines(dibs, "Ü-1") == [("😀", 2, 0)]


def test_bad_database_urls_fail_cleanly(tmp_path: Path) -> None:
    for url, code in [
        ("nonsense://x", 2),
        ("postgresql+psycopg://postgres@127.0.0.1:1/x", 1),
        (f"sqlite:///{tmp_path}/no/such/dir/x.db", 2),
    ]:
        result = raw(url, tmp_path, "inventory", "list")
        assert result.returncode == code, (url, result.stderr)
        assert "Traceback" not in result.stderr
        assert result.stderr.startswith("dibs: error:")
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_concurrent_commands_never_overpromise(dibs: Dibs) -> None:
    dibs("inventory", "import", str(EXAMPLES / "inventory.csv"))
    dibs("orders", "import", str(EXAMPLES / "orders.json"))
    env = dibs_env()
    commands = [["allocate", "--all", "--policy", "units", "--json"]] * 3 + [
        ["run", str(EXAMPLES / "rules.yaml"), "--once"],
        ["inventory", "receive", "MUG-16OZ", "3"],
        ["inventory", "adjust", "MUG-16OZ", "-2"],
    ]
    procs = [
        subprocess.Popen(
            [DIBS, "--db", dibs.db, *c],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=dibs.cwd,
            env=env,
        )
        for c in commands
    ]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        assert "Traceback" not in err
    # every order's reserved units, read straight from the file (300 `orders show` are slow)
    with sqlite3.connect(dibs.db.removeprefix("sqlite:///")) as conn:
        reserved = {
            (sku, wh): int(n)
            for sku, wh, n in conn.execute(
                "SELECT l.sku, o.warehouse, SUM(l.reserved) FROM order_lines l "
                "JOIN orders o ON o.id = l.order_id GROUP BY l.sku, o.warehouse"
            )
        }
    for row in dibs.json("inventory", "list"):
        assert row["allocated"] == reserved.get((row["sku"], row["warehouse"]), 0), row


# ------------------------------------------------------------------------------------- rules


def test_rule_file_mistakes_name_file_line_column(dibs: Dibs, tmp_path: Path) -> None:
    rules = write(
        tmp_path / "typo.yaml",
        """version: 1
rules:
  - name: a
    rule: when new order if ship_to.contry == "US" then allocate
  - name: b
    rule: when new order if channel matches "([" then allocate
  - name: c
    rule: when new ordr then allocate
  - name: h
    prio: 3
    rule: when new order then allocate
""",
    )
    err = dibs("rules", "check", str(rules), expect=2).stderr
    assert "typo.yaml:4:29: error: unknown field `ship_to.contry`" in err
    assert "did you mean `ship_to.country`" in err
    assert "typo.yaml:6:45: error: invalid regular expression" in err
    assert "typo.yaml:8:20:" in err
    assert "typo.yaml:10:5:" in err and "did you mean `priority`" in err
    tabs = write(
        tmp_path / "tabs.yaml",
        "version: 1\nrules:\n\t- name: a\n\t  rule: when new order then allocate\n",
    )
    assert "tabs.yaml:3:1:" in dibs("rules", "check", str(tabs), expect=2).stderr
    for cmd in (["rules", "test"], ["rules", "preview"], ["run", "--once"]):
        dibs(*cmd, str(rules), expect=2)
    dibs("rules", "check", str(EXAMPLES / "rules.yaml"))


def test_rules_test_reports_failures_with_exit_1(dibs: Dibs, tmp_path: Path) -> None:
    rules = write(
        tmp_path / "t.yaml",
        """version: 1
rules:
  - name: all
    rule: when new order then allocate
tests:
  - name: passes
    inventory: {W: 1}
    orders:
      - {id: A, channel: web, lines: [{sku: W, qty: 1}]}
    expect: {A: allocated}
  - name: fails
    inventory: {W: 0}
    orders:
      - {id: A, channel: web, lines: [{sku: W, qty: 1}]}
    expect: {A: allocated}
""",
    )
    out = dibs("rules", "test", str(rules), expect=1).stdout
    assert "PASS  passes" in out and "FAIL  fails" in out and "t.yaml:11:" in out
    dibs("rules", "test", str(EXAMPLES / "rules.yaml"))


def test_preview_predicts_run_once_and_writes_nothing(any_dibs: Dibs) -> None:
    dibs = any_dibs
    rules = str(EXAMPLES / "rules.yaml")
    dibs("inventory", "import", str(EXAMPLES / "inventory.csv"))
    dibs("orders", "import", str(EXAMPLES / "orders.json"))
    preview = dibs.json("rules", "preview", rules)
    assert set(statuses(dibs).values()) == {"unallocated"}
    dibs("run", rules, "--once")
    after = statuses(dibs)
    assert {o["id"]: o["after"] for o in preview["orders"]} == {
        o["id"]: after[o["id"]] for o in preview["orders"]
    }
    held = [o for o in dibs.json("orders", "list") if o["allocation_status"] == "unallocated"]
    assert held  # fraud-hold
    for row in dibs.json("history", "SH-10091"):
        assert row["ruleset"] == preview["ruleset"] and row["rule"]


def test_event_triggers(dibs: Dibs, tmp_path: Path) -> None:
    rules = write(
        tmp_path / "ev.yaml",
        """version: 1
rules:
  - name: restock
    rule: when inventory received if allocation_status == "could_not_allocate" then allocate
  - name: changed
    rule: when inventory changed if allocation_status == "could_not_allocate" then tag "seen"
  - name: upd
    rule: when order updated then tag "edited", allocate
""",
    )
    dibs("orders", "add", "C", "--channel", "web", "--line", "W:1", "--line", "V:1")
    dibs("allocate", "C")
    dibs("run", str(rules), "--once")
    dibs("inventory", "set", "W", "1")  # changed, not received
    dibs("run", str(rules), "--once")
    doc = dibs.json("orders", "show", "C")
    assert (doc["allocation_status"], doc["tags"]) == ("could_not_allocate", ["seen"])
    dibs("inventory", "receive", "W", "1")
    dibs("run", str(rules), "--once")
    assert statuses(dibs)["C"] == "partially_allocated"
    dibs("orders", "edit", "C", "--line", "W:1")
    dibs("run", str(rules), "--once")
    doc = dibs.json("orders", "show", "C")
    assert (doc["allocation_status"], sorted(doc["tags"])) == ("allocated", ["edited", "seen"])


def test_schedules_fire_once_on_sqlite(dibs: Dibs, tmp_path: Path) -> None:
    rules = write(
        tmp_path / "sweep.yaml",
        "version: 1\nrules:\n  - name: sweep\n    rule: every 5 minutes then allocate\n",
    )
    dibs("inventory", "set", "W", "5")
    dibs("orders", "add", "S1", "--channel", "web", "--line", "W:1")
    dibs("run", str(rules), "--once")
    assert statuses(dibs)["S1"] == "allocated"


# ------------------------------------------------------------------------------- known bugs
# Found on 206ceb5 and fixed on main since (kept as regressions): schedules on PostgreSQL,
# --where, DIBS_CLOCK_FILE under `dibs run`.


def test_schedules_fire_on_postgres(pg_dibs: Dibs, tmp_path: Path) -> None:
    dibs = pg_dibs
    rules = write(
        tmp_path / "sweep.yaml",
        "version: 1\nrules:\n  - name: sweep\n    rule: every 5 minutes then allocate\n",
    )
    dibs("inventory", "set", "W", "5")
    dibs("orders", "add", "S1", "--channel", "web", "--line", "W:1")
    dibs("run", str(rules), "--once")
    assert statuses(dibs)["S1"] == "allocated"


def test_allocate_and_deallocate_where(dibs: Dibs) -> None:
    dibs("inventory", "set", "W", "5")
    dibs("orders", "add", "A", "--channel", "amazon", "--line", "W:1", "--country", "US")
    dibs("orders", "add", "B", "--channel", "web", "--line", "W:1", "--country", "US")
    out = dibs.json(
        "allocate", "--where", 'channel == "amazon" and ship_to.country in ["US", "CA"]'
    )
    assert [r["id"] for r in out["results"]] == ["A"]
    dibs("allocate", "--all", "--where", 'chanel == "amazon"', expect=2)
    dibs("deallocate", "--where", 'channel == "amazon"')
    assert statuses(dibs) == {"A": "unallocated", "B": "unallocated"}


def test_huge_inventory_quantity_is_bad_input(dibs: Dibs) -> None:
    for cmd in ("set", "adjust", "receive"):
        result = raw(dibs.db, dibs.cwd, "inventory", cmd, "W", "99999999999999999999")
        assert "Traceback" not in result.stderr
        assert result.returncode == 2, result.stderr


def test_run_once_honours_the_clock_file(dibs: Dibs, tmp_path: Path) -> None:
    rules = write(
        tmp_path / "sweep.yaml",
        "version: 1\nrules:\n  - name: sweep\n    rule: every 30 minutes then allocate by unit\n",
    )
    clock = tmp_path / "clock"
    env = {"DIBS_CLOCK_FILE": str(clock)}
    clock.write_text("2030-01-01T00:10:00Z")
    dibs("orders", "add", "S1", "--channel", "web", "--line", "W:1")
    assert raw(dibs.db, tmp_path, "run", str(rules), "--once", env=env).returncode == 0
    dibs("inventory", "set", "W", "5")
    clock.write_text("2030-01-01T00:40:00Z")  # the 00:30 slot is due
    assert raw(dibs.db, tmp_path, "run", str(rules), "--once", env=env).returncode == 0
    assert statuses(dibs)["S1"] == "allocated"


def test_huge_interval_is_refused_by_check(dibs: Dibs, tmp_path: Path) -> None:
    rules = write(
        tmp_path / "e.yaml",
        "version: 1\nrules:\n  - name: e\n"
        "    rule: every 99999999999999999999 days then allocate\n",
    )
    check = dibs("rules", "check", str(rules), expect=2)
    # The position is the number itself (the rule-language bounds of dsl/limits.py).
    assert "e.yaml:4:17: error: `every 99999999999999999999 days` is too long" in check.stderr
    assert "at most ten years" in check.stderr
    run = dibs("run", str(rules), "--once", expect=2)  # refused as check refuses it
    assert "e.yaml:4:17" in run.stderr


def test_every_zero_minutes_does_what_check_says(dibs: Dibs, tmp_path: Path) -> None:
    rules = write(
        tmp_path / "e0.yaml",
        "version: 1\nrules:\n  - name: e\n    rule: every 0 minutes then allocate\n",
    )
    dibs("inventory", "set", "W", "5")
    dibs("orders", "add", "S1", "--channel", "web", "--line", "W:1")
    check = dibs("rules", "check", str(rules))  # a warning, not an error
    assert "e0.yaml:4:11: warning: `every 0 minutes` never fires" in check.stderr
    dibs("run", str(rules), "--once")
    assert statuses(dibs)["S1"] == "unallocated"  # and it does never fire


def test_orders_list_unknown_status_is_bad_input(dibs: Dibs) -> None:
    dibs("orders", "add", "A", "--channel", "web", "--line", "W:1")
    dibs("orders", "list", "--status", "could_not_allocte", expect=2)


def test_big_dry_run_says_it_is_a_dry_run(dibs: Dibs) -> None:
    dibs("inventory", "import", str(EXAMPLES / "inventory.csv"))
    dibs("orders", "import", str(EXAMPLES / "orders.json"))
    result = dibs("allocate", "--all", "--dry-run")
    assert result.stderr.startswith("Dry run, nothing was written: ")
    assert "would change" in result.stdout  # the plan is on stdout, every order of it
    assert set(statuses(dibs).values()) == {"unallocated"}


def test_order_by_attribute(dibs: Dibs, tmp_path: Path) -> None:
    orders = write(
        tmp_path / "ranked.jsonl",
        '{"id": "A", "channel": "web", "placed_at": "2026-01-01T09:00:00Z", '
        '"attributes": {"rank": 1}, "lines": [{"sku": "W", "qty": 1}]}\n'
        '{"id": "B", "channel": "web", "placed_at": "2026-01-01T10:00:00Z", '
        '"attributes": {"rank": 5}, "lines": [{"sku": "W", "qty": 1}]}\n',
    )
    dibs("orders", "import", str(orders))
    dibs("inventory", "set", "W", "1")
    plan = dibs.json("allocate", "--all", "--dry-run", "--order-by", "attributes.rank desc")
    assert plan["results"] == [  # the higher rank goes first and takes the only unit
        {"id": "B", "before": "unallocated", "after": "allocated"},
        {"id": "A", "before": "unallocated", "after": "could_not_allocate"},
    ]
    assert statuses(dibs) == {"A": "unallocated", "B": "unallocated"}


def test_existing_id_import_error_names_the_file(dibs: Dibs, tmp_path: Path) -> None:
    dibs("orders", "add", "J1", "--channel", "web", "--line", "W:1")
    path = write(tmp_path / "dup.csv", "id,channel,placed_at,sku,qty\nJ1,web,2026-01-01,W,1\n")
    assert "dup.csv:2" in dibs("orders", "import", str(path), expect=2).stderr


def test_rule_file_that_is_a_directory(dibs: Dibs, tmp_path: Path) -> None:
    (tmp_path / "rules.yaml").mkdir()
    err = dibs("rules", "check", str(tmp_path / "rules.yaml"), expect=2).stderr
    assert "directory" in err


def test_tick_nan_is_refused(dibs: Dibs, tmp_path: Path) -> None:
    rules = write(
        tmp_path / "ok.yaml",
        "version: 1\nrules:\n  - name: a\n    rule: when new order then allocate\n",
    )
    fresh = tmp_path / "fresh.db"  # no database yet: a refusal must not create one
    try:
        # A hang would run forever; 30 s leaves room for a loaded machine to start dibs.
        result = raw(f"sqlite:///{fresh}", tmp_path, "run", str(rules), "--tick", "nan", timeout=30)
    except subprocess.TimeoutExpired:
        pytest.fail("dibs run --tick nan kept running")
    assert result.returncode == 2
    assert "--tick must be a positive number of seconds, got nan" in result.stderr
    assert not fresh.exists()  # refused before the database was opened (and made)


def test_a_bad_tick_is_told_before_the_rule_file_is_read(dibs: Dibs, tmp_path: Path) -> None:
    """Checked first: no rule file loaded nor database opened for an option that is wrong."""
    result = raw(dibs.db, tmp_path, "run", str(tmp_path / "absent.yaml"), "--tick", "-1")
    assert result.returncode == 2
    assert "--tick must be a positive number of seconds, got -1.0" in result.stderr
    assert "absent.yaml" not in result.stderr


@pytest.mark.parametrize("command", ["run", "serve"])
def test_a_tick_longer_than_a_day_is_refused(dibs: Dibs, tmp_path: Path, command: str) -> None:
    """`dibs run rules.yaml --tick 99999999999` ran one tick, then crashed with a traceback
    (OverflowError: timestamp out of range) when it went to sleep; `serve --rules` alike."""
    rules = write(
        tmp_path / "ok.yaml",
        "version: 1\nrules:\n  - name: a\n    rule: when new order then allocate\n",
    )
    fresh = tmp_path / "fresh.db"
    args = [str(rules)] if command == "run" else ["--rules", str(rules), "--port", "0"]
    result = raw(f"sqlite:///{fresh}", tmp_path, command, *args, "--tick", "99999999999")
    assert result.returncode == 2, result.stderr
    assert "--tick must be at most 86400 seconds (a day), got 99999999999" in result.stderr
    assert "Traceback" not in result.stderr and not fresh.exists()


def test_empty_warehouse_name(dibs: Dibs) -> None:
    result = dibs("inventory", "set", "W", "5", "--warehouse", "", expect=2)
    assert "warehouse name cannot be empty" in result.stderr
    assert dibs.json("inventory", "list") == []  # nothing written


def test_a_selection_missing_names_only_the_options_the_command_has(dibs: Dibs) -> None:
    """`deallocate` has --where but no --all: its hint must not offer one."""
    result = dibs("deallocate", expect=2)
    assert "say which orders: IDs or --where CONDITION" in result.stderr
    result = dibs("allocate", expect=2)
    assert "say which orders: IDs, --all or --where CONDITION" in result.stderr
