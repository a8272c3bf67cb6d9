"""What a newcomer tripped over (issue #16), through the `dibs` command: each test is what a
person types and what they read back (`bare` starts the installed command exactly as typed;
`dibs` runs it in-process, see tests/e2e/conftest.py)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import DIBS, Dibs

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


def bare(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`dibs ARGS` exactly as typed (no --db put in front), without $DIBS_DB unless given."""
    full = {k: v for k, v in os.environ.items() if k != "DIBS_DB"}
    full.update(env or {})
    result = subprocess.run(
        [DIBS, *args], capture_output=True, text=True, cwd=cwd, env=full, check=False
    )
    assert "Traceback" not in result.stderr, result.stderr
    return result


def _shop(dibs: Dibs) -> None:
    dibs("inventory", "set", "MUG", "2")
    dibs(
        "orders",
        "add",
        "A",
        "--channel",
        "amazon",
        "--line",
        "MUG:1",
        "--tag",
        "vip",
        "--placed-at",
        "2026-01-01T09:00:00Z",
        "--total",
        "150",
    )
    dibs(
        "orders",
        "add",
        "B",
        "--channel",
        "web",
        "--line",
        "MUG:1",
        "--line",
        "CAP:1",
        "--placed-at",
        "2026-01-01T10:00:00Z",
        "--total",
        "20",
    )
    dibs(
        "orders",
        "add",
        "C",
        "--channel",
        "web",
        "--line",
        "MUG:1",
        "--tag",
        "vip",
        "--placed-at",
        "2026-01-01T11:00:00Z",
        "--country",
        "US",
    )


# ----------------------------------------------------------------------- the command line


def test_version_and_db_after_the_command(dibs: Dibs, tmp_path: Path) -> None:
    version = bare("--version", cwd=tmp_path)
    assert version.returncode == 0 and re.fullmatch(r"dibs \d+\.\d+\.\d+\S*\n", version.stdout)
    db = f"sqlite:///{tmp_path / 'after.db'}"
    assert bare("inventory", "set", "MUG", "3", "--db", db, cwd=tmp_path).returncode == 0
    listed = bare("inventory", "list", "--json", "--db", db, cwd=tmp_path)
    assert json.loads(listed.stdout)[0]["on_hand"] == 3
    assert not (tmp_path / "dibs.db").exists()  # the default database was not touched


def test_mistyped_commands_get_a_did_you_mean_with_one_prefix(tmp_path: Path) -> None:
    typo = bare("alocate", "--all", cwd=tmp_path)
    assert typo.returncode == 2
    assert typo.stderr == (
        "dibs: error: unknown command 'alocate'; did you mean 'allocate'? (see 'dibs --help')\n"
    )
    sub = bare("orders", "lst", cwd=tmp_path)
    assert sub.returncode == 2
    assert sub.stderr.startswith("dibs: error: orders: unknown command 'lst'; did you mean 'list'?")
    choice = bare("allocate", "--all", "--policy", "unit", cwd=tmp_path)
    assert "unknown --policy 'unit'; did you mean 'units'?" in choice.stderr
    usage = bare("orders", "show", cwd=tmp_path)
    assert usage.returncode == 2
    assert (
        usage.stderr.count("dibs") == 2
    )  # "dibs: error: orders show: … (see 'dibs orders show --help')"
    assert usage.stderr.startswith("dibs: error: orders show: the following arguments are required")


def test_a_group_alone_lists_its_commands(tmp_path: Path) -> None:
    result = bare("orders", cwd=tmp_path)
    assert result.returncode == 2
    assert "orders_cmd" not in result.stderr
    assert result.stderr.startswith("dibs: error: dibs orders needs a command")
    for command in ("import", "add", "list", "show", "edit", "ship", "split"):
        assert re.search(rf"^  {command} +\S", result.stderr, re.MULTILINE), command
    top = bare(cwd=tmp_path)
    assert top.returncode == 2 and re.search(r"^  allocate +reserve stock", top.stderr, re.M)


def test_help_shows_examples(tmp_path: Path) -> None:
    result = bare("allocate", "--help", cwd=tmp_path)
    assert result.returncode == 0
    examples = result.stdout.split("examples:\n", 1)[1]
    assert len(re.findall(r"^  dibs allocate ", examples, re.MULTILINE)) >= 2
    assert re.search(r"--dry-run +print the plan", result.stdout)


# ---------------------------------------------------------------------------- database URLs


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("shop.db", "database URL 'shop.db' is not a URL; did you mean sqlite:///shop.db?"),
        ("sqlite://shop.db", "a SQLite URL takes three slashes before a relative path"),
        ("mysql://bob:secret@db/shop", "dibs works with SQLite and PostgreSQL, not mysql"),
        ("sqlite:///no/such/dir/shop.db", "the directory no/such/dir does not exist"),
    ],
)
def test_database_url_mistakes_are_one_sentence(url: str, says: str, tmp_path: Path) -> None:
    result = bare("orders", "list", cwd=tmp_path, env={"DIBS_DB": url})
    assert result.returncode == 2
    assert result.stderr.startswith("dibs: error: database URL ")
    assert says in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "secret" not in result.stderr  # a password is never echoed
    assert "MySQLdb" not in result.stderr and "sqlalchemy" not in result.stderr.lower()
    assert list(tmp_path.iterdir()) == []  # nothing created


# ------------------------------------------------------------------------------ orders list


def test_orders_list_defaults_to_open_orders_and_ands_the_kinds(dibs: Dibs) -> None:
    _shop(dibs)
    dibs("allocate", "A")
    dibs("orders", "ship", "A")
    ids = lambda *a: [o["id"] for o in dibs.json("orders", "list", *a)]  # noqa: E731
    assert ids() == ["B", "C"]
    assert ids("--all") == ["A", "B", "C"]
    assert ids("--status", "shipped") == ["A"]
    assert ids("--status", "unallocated") == ["B", "C"]  # shipped A is not "waiting"
    assert ids("--status", "shipped,unallocated") == ["A"]  # AND of the two kinds
    assert ids("--tag", "vip") == ["C"]
    assert ids("--all", "--tag", "vip") == ["A", "C"]
    assert ids("--sku", "CAP") == ["B"]
    assert ids("--all", "--where", 'total > 100 or ship_to.country == "US"') == ["A", "C"]
    dibs("orders", "list", "--where", "totl > 1", expect=2)


def test_orders_list_json_is_orders_show_json(dibs: Dibs) -> None:
    _shop(dibs)
    dibs("allocate", "B")
    listed = dibs.json("orders", "list")
    assert listed == [dibs.json("orders", "show", oid) for oid in ("A", "B", "C")]
    assert listed[1]["lines"] == [
        {"sku": "MUG", "qty": 1, "reserved": 1, "warehouses": {"main": 1}},
        {"sku": "CAP", "qty": 1, "reserved": 0, "warehouses": {}},
    ]


@pytest.mark.parametrize(
    ("option", "typo", "hint"),
    [
        ("--channel", "amazn", "no order or stock has channel 'amazn'; did you mean 'amazon'?"),
        ("--tag", "vp", "no order or stock has tag 'vp'; did you mean 'vip'?"),
        ("--sku", "MUGG", "no order or stock has sku 'MUGG'; did you mean 'MUG'?"),
        ("--warehouse", "mian", "no order or stock has warehouse 'mian'; did you mean 'main'?"),
    ],
)
def test_orders_list_unknown_filter_values_get_a_hint(
    dibs: Dibs, option: str, typo: str, hint: str
) -> None:
    _shop(dibs)
    result = dibs("orders", "list", option, typo, "--json")
    assert json.loads(result.stdout) == []
    assert hint in result.stderr


# ------------------------------------------------------------------------ allocate and ship


def test_allocate_dry_run_prints_the_plan(dibs: Dibs) -> None:
    _shop(dibs)
    result = dibs("allocate", "--all", "--dry-run")
    assert "3 orders would change" in result.stdout
    for row in (
        r"A\s+│ unallocated\s+│ allocated",
        r"B\s+│ unallocated\s+│ partially_allocated",
        r"C\s+│ unallocated\s+│ could_not_allocate",
    ):
        assert re.search(row, result.stdout), (row, result.stdout)
    assert result.stderr.startswith("Dry run, nothing was written: 3 orders processed")
    doc = dibs.json("allocate", "--all", "--dry-run")
    assert doc["dry_run"] is True and len(doc["results"]) == 3
    assert "dry_run" not in dibs.json("allocate", "A")
    plan = dibs.json("deallocate", "--where", 'channel == "amazon"', "--dry-run")
    assert plan == {
        "results": [{"id": "A", "before": "allocated", "after": "unallocated"}],
        "skipped": [],
        "dry_run": True,
    }
    assert dibs.json("orders", "show", "A")["allocation_status"] == "allocated"  # still


def test_ship_that_takes_others_stock_needs_force(dibs: Dibs) -> None:
    _shop(dibs)
    dibs("allocate", "A", "C")  # both MUGs reserved; B holds none
    refused = dibs("orders", "ship", "B", expect=1)
    assert "C would lose cover" in refused.stderr and "--force" in refused.stderr
    assert dibs.json("orders", "show", "B")["status"] == "awaiting_fulfillment"
    dibs("orders", "ship", "B", "--force")
    assert dibs.json("orders", "show", "C")["allocation_status"] == "overallocated"
    dibs("orders", "ship", "A")  # allocated: ships what it holds, no question asked


# ------------------------------------------------------------------------- rules and status


def test_preview_lists_changes_only_and_skips_closed_orders(dibs: Dibs, tmp_path: Path) -> None:
    _shop(dibs)
    dibs("inventory", "set", "MUG", "1")
    dibs("allocate", "A")
    dibs("orders", "cancel", "C")  # its order.created is still pending
    rules = tmp_path / "r.yaml"
    rules.write_text("version: 1\nrules:\n  - name: all\n    rule: when new order then allocate\n")
    doc = dibs.json("rules", "preview", str(rules))
    assert {o["id"] for o in doc["orders"]} == {"A", "B"}  # never the cancelled C
    assert all(o["before"] != "(new)" for o in doc["orders"])
    assert doc["summary"]["unchanged"] == 1
    text = dibs("rules", "preview", str(rules)).stdout
    assert "Orders that would change (1)" in text
    assert re.search(r"│ B\s+│ all\s+│ unallocated\s+│ could_not_allocate", text)
    assert "1 matched orders would stay as they are" in text
    assert not re.search(r"│ A\s+│", text)


def test_status_on_one_screen(dibs: Dibs, tmp_path: Path) -> None:
    _shop(dibs)
    rules = tmp_path / "r.yaml"
    rules.write_text(
        "version: 1\nrules:\n  - name: sweep\n    rule: every 30 minutes then allocate\n"
    )
    text = dibs("status").stdout
    assert "pending events: 4 (1 inventory.changed, 3 order.created" in text
    assert "last tick: never" in text
    assert "pass --rules FILE" in text
    assert "open orders: 3 (3 unallocated)" in text
    assert re.search(r"MUG\s+│ main\s+│\s+2 │\s+0 │\s+2 │\s+3 │\s+1 │", text)  # short by 1
    dibs("run", str(rules), "--once")
    dibs("inventory", "set", "MUG", "0")
    doc = dibs.json("status", "--rules", str(rules))
    # The stock change, plus the allocation.changed events (SPEC §13) of the tick and the drop.
    pending = doc["pending_events"]
    assert pending["by_type"]["inventory.changed"] == 1 and doc["last_tick"] is not None
    assert set(pending["by_type"]) == {"inventory.changed", "allocation.changed"}
    assert doc["schedules"][0]["rule"] == "sweep" and doc["schedules"][0]["due_now"] is False
    assert doc["overallocated"] == {"count": 2, "first": ["A", "B"]}
    text = dibs("status", "--rules", str(rules)).stdout
    assert "overallocated: 2: A, B (dibs explain ID)" in text
    assert "schedule sweep: next " in text


def test_explain_overallocated_shows_the_order_itself_in_words(dibs: Dibs) -> None:
    _shop(dibs)
    dibs("allocate", "A", "C")
    dibs("inventory", "adjust", "MUG", "-1")
    text = dibs("explain", "C").stdout
    assert re.search(r"│ A\s+│\s+1 │ \S+ │ covered\s+│", text), text
    assert re.search(r"│ C \(this order\)\s+│\s+1 │ \S+ │ not covered │", text), text
    assert "True" not in text and "False" not in text


# ------------------------------------------------------------------------------------ demo


def test_demo_keeps_its_database_and_its_hints_work(tmp_path: Path) -> None:
    result = bare("demo", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    db = Path(re.search(r"The demo database is kept in (\S+)", result.stdout)[1])  # type: ignore[index]
    try:
        assert db.is_file() and list(tmp_path.iterdir()) == []  # nothing in the working dir
        hints = re.findall(r"^  (dibs --db .+)$", result.stdout, re.MULTILINE)
        assert len(hints) >= 3
        for hint in hints:
            args = hint.split()[1:]
            ran = bare(*args, cwd=tmp_path)
            assert ran.returncode == 0, (hint, ran.stderr)
        assert not (tmp_path / "dibs.db").exists()
        table = result.stdout.split("What each rule did", 1)[1].split("Allocation status", 1)[0]
        rows = [
            [c.strip() for c in line.split("│")[1:-1]]
            for line in table.splitlines()
            if line.startswith("│")
        ]
        priorities = [int(r[0]) for r in rows]
        assert priorities == sorted(priorities, reverse=True)
        for row in rows:  # allocated + partially + could not == decided
            assert int(row[3]) == int(row[4]) + int(row[5]) + int(row[6]), row
        fraud = next(r for r in rows if r[1] == "fraud-hold")
        assert fraud[2] != "0" and f'tag "held" ×{fraud[2]}' in fraud[7]
        ran_out = result.stdout.split("Stock that ran out", 1)[1].split("Orders still", 1)[0]
        assert "PUZZLE-1000" not in ran_out.split("No stock from the start")[0]
        assert "No stock from the start: PUZZLE-1000 @ main" in ran_out
    finally:
        shutil.rmtree(db.parent)


# ------------------------------------------------------------------------------ benchmarks


@pytest.mark.parametrize("script", sorted((ROOT / "tests" / "bench").glob("bench_*.py")))
def test_every_benchmark_answers_help(script: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(script), "--help"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage:") and "Traceback" not in result.stderr
