"""The `dibs` command as a user types it (in-process, or the installed console script where the
process is the point: see tests/e2e/conftest.py)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

from tests.e2e.conftest import DIBS, ROOT, Dibs, dibs_env
from tests.helpers import run_dibs


def test_seed_example_allocate_then_stock_drops(dibs: Dibs) -> None:
    dibs("inventory", "set", "WIDGET", "1")
    dibs(
        "orders",
        "add",
        "A1",
        "--channel",
        "shopify",
        "--line",
        "WIDGET:1",
        "--placed-at",
        "2026-01-01T09:00:00Z",
    )
    out = dibs.json("allocate", "A1")
    assert out == {
        "results": [{"id": "A1", "before": "unallocated", "after": "allocated"}],
        "skipped": [],
    }
    assert dibs.json("inventory", "list") == [
        {"sku": "WIDGET", "warehouse": "main", "on_hand": 1, "allocated": 1, "available": 0}
    ]
    dibs("inventory", "adjust", "WIDGET", "-1")
    shown = dibs.json("orders", "show", "A1")
    assert shown["allocation_status"] == "overallocated"
    assert shown["lines"] == [{"sku": "WIDGET", "qty": 1, "reserved": 1, "warehouses": {"main": 1}}]
    dibs("inventory", "receive", "WIDGET", "1")
    assert dibs.json("orders", "show", "A1")["allocation_status"] == "allocated"


def test_fifo_and_skipped_orders(dibs: Dibs) -> None:
    dibs("inventory", "set", "MUG", "1")
    dibs(
        "orders",
        "add",
        "LATE",
        "--channel",
        "ebay",
        "--line",
        "MUG:1",
        "--placed-at",
        "2026-01-02T00:00:00Z",
    )
    dibs(
        "orders",
        "add",
        "EARLY",
        "--channel",
        "ebay",
        "--line",
        "MUG:1",
        "--placed-at",
        "2026-01-01T00:00:00Z",
    )
    dibs("orders", "add", "GONE", "--channel", "ebay", "--line", "MUG:1")
    dibs("orders", "cancel", "GONE")
    out = dibs.json("allocate", "LATE", "EARLY", "GONE")
    assert [r["id"] for r in out["results"]] == ["EARLY", "LATE"]
    assert {r["id"]: r["after"] for r in out["results"]} == {
        "EARLY": "allocated",
        "LATE": "could_not_allocate",
    }
    assert out["skipped"] == [{"id": "GONE", "reason": "order is cancelled"}]


def test_dry_run_writes_nothing(dibs: Dibs, tmp_path: Path) -> None:
    dibs("inventory", "set", "MUG", "5")
    dibs("orders", "add", "A", "--channel", "ebay", "--line", "MUG:2")
    before = (tmp_path / "shop.db").read_bytes()
    out = dibs.json("allocate", "--all", "--dry-run")
    assert out["results"] == [{"id": "A", "before": "unallocated", "after": "allocated"}]
    assert dibs.json("orders", "show", "A")["allocation_status"] == "unallocated"
    assert dibs.json("history", "A") == []
    assert len(before) > 0


def test_exit_codes(dibs_process: Dibs) -> None:
    dibs = dibs_process  # exit codes as the shell sees them, through the console script
    missing = dibs("allocate", "NOPE", expect=1)
    assert "NOPE" in missing.stderr
    dibs("allocate", expect=2)  # which orders?
    dibs("inventory", "receive", "X", "-3", expect=2)
    dibs("orders", "add", "B", "--channel", "c", "--line", "X:0", expect=2)
    dibs("orders", "add", "B", "--channel", "c", "--line", "X:1")
    dup = dibs("orders", "add", "B", "--channel", "c", "--line", "X:1", expect=2)
    assert "B" in dup.stderr
    dibs("orders", "ship", "B")
    again = dibs("orders", "ship", "B", expect=1)
    assert "shipped" in again.stderr
    dibs("orders", "show", "NOPE", expect=1)
    dibs("nonsense", expect=2)


def test_bad_import_is_refused_whole(dibs: Dibs, tmp_path: Path) -> None:
    bad = tmp_path / "orders.csv"
    bad.write_text(
        "id,channel,placed_at,sku,qty\n"
        "A,shopify,2026-01-01T00:00:00Z,MUG,1\n"
        "B,shopify,2026-01-01T00:00:00Z,MUG,0\n"
    )
    result = dibs("orders", "import", str(bad), expect=2)
    assert "orders.csv:3" in result.stderr
    assert dibs.json("orders", "list") == []


def test_import_list_ship_history(dibs: Dibs, tmp_path: Path) -> None:
    (tmp_path / "inv.csv").write_text("sku,on_hand\nMUG,3\nCAP,1\n")
    (tmp_path / "orders.jsonl").write_text(
        json.dumps(
            {
                "id": "A",
                "channel": "amazon",
                "placed_at": "2026-01-01T00:00:00Z",
                "lines": [{"sku": "MUG", "qty": 2}, {"sku": "CAP", "qty": 2}],
            }
        )
        + "\n"
    )
    dibs("inventory", "import", str(tmp_path / "inv.csv"))
    dibs("orders", "import", str(tmp_path / "orders.jsonl"))
    out = dibs.json("allocate", "--all", "--policy", "units")
    assert out["results"][0]["after"] == "partially_allocated"
    listed = dibs.json("orders", "list", "--status", "partially_allocated")
    assert [o["id"] for o in listed] == ["A"]
    dibs("orders", "ship", "A")
    stock = {r["sku"]: r for r in dibs.json("inventory", "list")}
    assert stock["MUG"]["on_hand"] == 1 and stock["MUG"]["allocated"] == 0
    assert stock["CAP"]["on_hand"] == -1
    history = dibs.json("history", "A")
    assert [(h["sku"], h["delta"], h["operation"]) for h in history] == [
        ("MUG", 2, "allocate"),
        ("CAP", 1, "allocate"),
        ("MUG", -2, "ship"),
        ("CAP", -1, "ship"),
    ]
    assert set(history[0]) >= {
        "at",
        "order",
        "line",
        "sku",
        "warehouse",
        "delta",
        "operation",
        "rule",
        "ruleset",
    }


def test_edit_split_reallocate(dibs: Dibs) -> None:
    dibs("inventory", "set", "MUG", "2")
    dibs("orders", "add", "A", "--channel", "c", "--line", "MUG:2", "--tag", "vip")
    dibs("allocate", "A")
    dibs("orders", "edit", "A", "--line", "MUG:2", "--line", "CAP:1")
    assert dibs.json("orders", "show", "A")["allocation_status"] == "partially_allocated"
    dibs("orders", "split", "A")
    child = dibs.json("orders", "show", "A-1")
    assert child["lines"] == [{"sku": "CAP", "qty": 1, "reserved": 0, "warehouses": {}}]
    assert child["tags"] == ["vip"]
    assert dibs.json("orders", "show", "A")["allocation_status"] == "allocated"
    dibs("orders", "split", "A", expect=1)
    out = dibs.json("reallocate", "A")
    assert out["results"] == [{"id": "A", "before": "allocated", "after": "allocated"}]


def test_json_output_is_only_json(dibs_process: Dibs) -> None:
    dibs = dibs_process  # nothing else reaches the real stdout
    dibs("inventory", "set", "MUG", "1")
    result = dibs("inventory", "list", "--json")
    json.loads(result.stdout)
    assert result.stdout.lstrip().startswith("[")


def test_database_from_environment(tmp_path: Path) -> None:
    env = {**os.environ, "DIBS_DB": f"sqlite:///{tmp_path / 'env.db'}"}
    subprocess.run([DIBS, "inventory", "set", "MUG", "4"], env=env, check=True, capture_output=True)
    assert (tmp_path / "env.db").exists()


def test_demo_runs(tmp_path: Path) -> None:
    result = subprocess.run(
        [DIBS, "demo"], capture_output=True, text=True, cwd=tmp_path, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "allocated" in result.stdout
    assert "What each rule did" in result.stdout and "express-first" in result.stdout
    assert not list(tmp_path.iterdir())  # nothing in the working directory
    kept = re.search(r"The demo database is kept in (\S+)", result.stdout)
    assert kept is not None and Path(kept[1]).is_file()  # in a folder of its own, said where
    shutil.rmtree(Path(kept[1]).parent)


def test_empty_sqlite_path_is_bad_input(tmp_path: Path) -> None:
    result = subprocess.run(
        [DIBS, "--db", "sqlite:///", "inventory", "list"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 2 and "names no file" in result.stderr


def test_a_reader_that_stops_early_is_no_error(dibs: Dibs) -> None:
    """`dibs orders list --json | head`: a closed pipe ends dibs quietly, exit 0 (a process test:
    the pipe is the real stdout)."""
    dibs("orders", "import", str(ROOT / "examples" / "orders.json"))  # ~150 KB of JSON: > a pipe
    proc = subprocess.Popen(
        [DIBS, "--db", dibs.db, "orders", "list", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=dibs.cwd,
        env=dibs_env(),
    )
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.read(100).lstrip().startswith(b"[")
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(60) == 0, err
    assert err == ""  # no traceback, no "Exception ignored … BrokenPipeError"


#: Commands that only read (or dry-run) the database: a SQLite path that does not exist is a
#: mistake (a typo, the wrong directory), never a new shop.
READ_ONLY = [
    ("orders", "list"),
    ("orders", "show", "A1"),
    ("history", "A1"),
    ("explain", "A1"),
    ("status",),
    ("events", "list"),
    ("events", "tail"),
    ("deliveries", "list"),
    ("inventory", "list"),
    ("kits", "list"),
    ("rules", "preview", "{rules}"),
    ("allocate", "--all", "--dry-run"),
    ("deallocate", "A1", "--dry-run"),
]


def test_commands_that_only_read_refuse_a_sqlite_file_that_does_not_exist(tmp_path: Path) -> None:
    """`dibs rules preview --db sqlite:///TYPO.db` made an empty TYPO.db and previewed nothing
    there: a typo looked like a shop with no orders. A command that only reads now says there
    is no such database (exit 2) and makes none."""
    rules = tmp_path / "rules.yaml"
    rules.write_text("version: 1\nrules:\n  - name: x\n    rule: when new order then allocate\n")
    typo = Dibs("sqlite:///TYPO.db", tmp_path)  # relative, as typed
    for argv in READ_ONLY:
        args = [a.replace("{rules}", str(rules)) for a in argv]
        result = typo(*args, expect=2)
        assert result.stderr.startswith("dibs: error: no database at TYPO.db;"), (argv, result)
        assert not (tmp_path / "TYPO.db").exists(), argv
    default = run_dibs(["orders", "list"], tmp_path)  # no --db, no DIBS_DB, no ./dibs.db
    assert default.returncode == 2 and not (tmp_path / "dibs.db").exists()
    assert "no database at dibs.db (the default, in this directory)" in default.stderr
    typo("inventory", "set", "MUG", "1")  # a command that writes makes it, as before
    assert (tmp_path / "TYPO.db").exists()
    assert typo.json("inventory", "list")[0]["sku"] == "MUG"
