"""What a newcomer tripped over on a second end-to-end pass (2026-12-01), through the `dibs`
command: each test is what a person types and what they read back (see tests/e2e/conftest.py
for how `dibs` runs)."""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

from tests.e2e.conftest import DIBS, Dibs, dibs_env
from tests.helpers import run_dibs

ROOT = Path(__file__).resolve().parents[2]


def test_text_in_brackets_is_shown_as_written_never_read_as_markup(
    dibs: Dibs, tmp_path: Path
) -> None:
    """Ids, tags and names are the merchant's text: `[/x]` is a tag, not a closing style tag
    (it crashed `orders show` with a traceback), and `[red]M-2` is an id (it was shown as M-2)."""
    orders = [
        {
            "id": "M-1",
            "channel": "web",
            "tags": ["[/x]"],
            "ship_to": {"name": "Bob [bold]Smith"},
            "lines": [{"sku": "MUG", "qty": 1}],
        },
        {"id": "[red]M-2", "channel": "web", "lines": [{"sku": "MUG", "qty": 1}]},
    ]
    path = tmp_path / "m.jsonl"
    path.write_text("".join(json.dumps(o) + "\n" for o in orders))
    dibs("orders", "import", str(path))
    shown = dibs("orders", "show", "M-1").stdout
    assert "[/x]" in shown and "Bob [bold]Smith" in shown
    assert "[red]M-2" in dibs("orders", "show", "[red]M-2").stdout
    listed = dibs("orders", "list").stdout
    assert "[red]M-2" in listed


def test_demo_shows_the_ruleset_hash_of_every_tick(tmp_path: Path) -> None:
    """The warehouses step's hash (ded0e9f8f3c9) starts with a letter: Rich read `[ded0…]` as
    a style and printed `tick : 11 events`."""
    result = run_dibs(["demo"], tmp_path)
    assert result.returncode == 0, result.stderr
    try:
        ticks = re.findall(r"^tick (\S*)", result.stdout, re.MULTILINE)
        assert len(ticks) == 2, result.stdout
        assert all(re.fullmatch(r"\[[0-9a-f]{12}\]:", t) for t in ticks), ticks
    finally:
        kept = re.search(r"The demo database is kept in (\S+)", result.stdout)
        assert kept is not None
        shutil.rmtree(Path(kept[1]).parent)


def test_a_csv_short_of_a_column_or_split_by_semicolons_says_so(dibs: Dibs, tmp_path: Path) -> None:
    """What a spreadsheet hands a merchant: a header without `qty`, a header split by `;` (a
    comma-decimal locale's "CSV"), a stock file given to `orders import`. Each said "has a
    header no order format uses" (or, for inventory, two unrelated column problems)."""
    cases = [
        (
            "orders",
            "no-qty.csv",
            "id,channel,placed_at,sku\nA,web,2026-11-01,MUG\n",
            "no-qty.csv:1: missing required column qty",
        ),
        (
            "orders",
            "semi.csv",
            "id;channel;placed_at;sku;qty\r\nA;web;2026-11-01;MUG;2\r\n",
            "semi.csv: separates its columns with ';': dibs reads comma-separated CSV",
        ),
        (
            "orders",
            "stock.csv",
            "sku,on_hand\nMUG,4\n",
            "stock.csv: is a stock file (sku,on_hand): `dibs inventory import` reads it",
        ),
        (
            "inventory",
            "semi-stock.csv",
            "sku;on_hand\r\nMUG;2\r\n",
            "semi-stock.csv:1: the header separates its columns with ';': dibs reads",
        ),
    ]
    for group, name, text, says in cases:
        (tmp_path / name).write_text(text)
        err = dibs(group, "import", name, expect=2).stderr
        assert says in err, err
    assert dibs.json("orders", "list", "--all") == []
    assert dibs.json("inventory", "list") == []


def _catalogue() -> dict[str, set[str]]:
    """Event type -> the keys docs/events.md's catalogue gives its `data` (the `{…}` cell)."""
    text = (ROOT / "docs" / "events.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `([a-z_]+\.[a-z_]+)` \|[^|]*\| `\{([^}]*)\}`", text, re.MULTILINE)
    return {kind: {k.strip() for k in keys.split(",")} for kind, keys in rows}


def test_the_event_catalogue_names_every_key_of_each_payload(dibs: Dibs) -> None:
    """A receiver is written from docs/events.md: `order.shipped` carries `stock` (what the
    shipment took, per sku and warehouse), which the catalogue left out."""
    dibs("inventory", "set", "MUG", "3")
    for oid, qty in (("A", "1"), ("B", "1"), ("C", "5")):
        dibs("orders", "add", oid, "--channel", "web", "--line", f"MUG:{qty}")
    dibs("allocate", "--all")
    dibs("orders", "edit", "C", "--line", "MUG:4")
    dibs("orders", "ship", "A")
    dibs("orders", "cancel", "B")
    dibs("orders", "dropship", "C")
    seen: dict[str, set[str]] = {}
    for event in dibs.json("events", "list"):
        seen.setdefault(event["type"], set()).update(event["data"])
    catalogue = _catalogue()
    assert len(seen) >= 7
    for kind, keys in seen.items():
        assert keys == catalogue.get(kind), (kind, keys, catalogue.get(kind))


def test_the_exit_codes_page_shows_the_message_dibs_prints(dibs: Dibs) -> None:
    """docs/exit-codes.md's example of a second import showed an older wording of the message
    (without the pointer to `--sync`)."""
    page = (ROOT / "docs" / "exit-codes.md").read_text(encoding="utf-8")
    shown = re.search(r"^(dibs: error: examples/orders\.csv: .*)$", page, re.MULTILINE)
    assert shown is not None
    in_checkout = Dibs(dibs.db, ROOT)  # the page's commands run from the checkout
    in_checkout("orders", "import", "examples/orders.csv")
    err = in_checkout("orders", "import", "examples/orders.csv", expect=2).stderr
    assert err.splitlines()[0] == shown[1]
    listed = [line for line in page.splitlines() if line.startswith("examples/orders.csv:")]
    assert listed and all(line in err.splitlines() for line in listed), (listed, err)


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc")
def test_a_database_file_sqlite_cannot_create_is_named(tmp_path: Path) -> None:
    """A directory that exists but takes no new file (/proc here; a read-only mount or a
    directory of another user in production) said only `database: unable to open database
    file`, without the file or what to check."""
    result = run_dibs(
        ["--db", "sqlite:////proc/dibs-qa.db", "inventory", "set", "M", "1"], tmp_path
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith("dibs: error: database /proc/dibs-qa.db: SQLite cannot ")
    assert "the directory /proc" in result.stderr and "write" in result.stderr


def test_serve_on_a_port_in_use_is_one_sentence_and_exit_1(tmp_path: Path) -> None:
    """A second `dibs serve` on a taken port ended with uvicorn's log line and exit code 3,
    which docs/exit-codes.md does not know; nothing may be written either (no tick ran)."""
    rules = tmp_path / "rules.yaml"
    rules.write_text("version: 1\nrules:\n  - name: all\n    rule: when new order then allocate\n")
    db = f"sqlite:///{tmp_path / 'shop.db'}"
    Dibs(db, tmp_path)("orders", "add", "A", "--channel", "web", "--line", "MUG:1")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [DIBS, "--db", db, "serve", "--port", str(port), "--rules", str(rules)],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env=dibs_env(),
            timeout=60,
            check=False,
        )
    assert result.returncode == 1, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr
    assert f"dibs: error: cannot listen on 127.0.0.1:{port}: " in result.stderr
    assert "already in use" in result.stderr
    assert Dibs(db, tmp_path).json("status")["pending_events"]["count"] == 1  # no tick ran


def test_an_unknown_option_names_the_command_its_help_and_a_near_option(dibs: Dibs) -> None:
    """`dibs orders list --stauts x` said "unrecognized arguments: --stauts x (see 'dibs
    --help')": the top-level help, which does not list the command's options."""
    err = dibs("orders", "list", "--stauts", "allocated", expect=2).stderr
    assert err == (
        "dibs: error: orders list: unrecognized arguments: --stauts allocated; did you mean "
        "--status? (see 'dibs orders list --help')\n"
    )
    err = dibs("orders", "add", "A", "--channel", "web", "--line", "M:1", "--attr", "x", expect=2)
    assert "orders add: unrecognized arguments: --attr x (see 'dibs orders add --help')" in (
        err.stderr
    )
    assert "see 'dibs --help'" in dibs("--bogus", expect=2).stderr


def test_an_unclosed_quote_in_a_csv_is_refused_at_its_line(dibs: Dibs, tmp_path: Path) -> None:
    """`…,"Bob` with no closing quote made the rest of the file one cell: the import took one
    order named `Bob\\nQ-2,web,…` and dropped the two after it, and said nothing."""
    header = "id,channel,placed_at,sku,qty,ship_to_name\n"
    rows = (
        'Q-1,web,2026-11-01,MUG,1,"Bob\nQ-2,web,2026-11-01,MUG,1,Ann\nQ-3,web,2026-11-01,MUG,1,Cy\n'
    )
    (tmp_path / "o.csv").write_text(header + rows)
    err = dibs("orders", "import", "o.csv", expect=2).stderr
    assert 'o.csv:2: cannot read this CSV row: a quoted cell (") is never closed' in err, err
    (tmp_path / "s.csv").write_text('sku,on_hand\n"MUG,3\nTEA,4\n')
    err = dibs("inventory", "import", "s.csv", expect=2).stderr
    assert 's.csv:2: cannot read this CSV row: a quoted cell (") is never closed' in err, err
    (tmp_path / "k.csv").write_text('kit,component,qty\nBOX,MUG,1\nBOX,"TEA,2\n')
    err = dibs("kits", "import", "k.csv", expect=2).stderr
    assert 'k.csv:3: cannot read this CSV row: a quoted cell (") is never closed' in err, err
    assert dibs.json("orders", "list", "--all") == [] and dibs.json("kits", "list") == []


def test_a_kit_csv_with_a_huge_cell_is_an_error_not_a_traceback(dibs: Dibs, tmp_path: Path) -> None:
    """The orders and inventory readers report a cell over the csv module's 128 KiB limit; the
    kits reader let its `_csv.Error` escape as a traceback."""
    (tmp_path / "k.csv").write_text("kit,component,qty\nBOX," + "x" * 200_000 + ",1\n")
    err = dibs("kits", "import", "k.csv", expect=2).stderr
    assert "k.csv:2: cannot read this CSV row: a cell is longer than 131,072 characters" in err


def test_a_default_database_made_by_the_command_is_said_on_stderr(tmp_path: Path) -> None:
    """`dibs status` in the wrong directory (no --db, no DIBS_DB) quietly made an empty
    ./dibs.db and reported 0 open orders: it looked as if the shop's orders were gone. A
    command that only reads now refuses (exit 2, nothing made); one that writes makes the
    database and says so."""
    refused = run_dibs(["status", "--json"], tmp_path)
    assert refused.returncode == 2 and refused.stdout == ""
    assert "no database at dibs.db (the default, in this directory)" in refused.stderr
    assert not (tmp_path / "dibs.db").exists()
    first = run_dibs(["inventory", "set", "MUG", "1"], tmp_path)
    assert first.returncode == 0
    assert first.stderr.startswith(
        "dibs: note: there was no database at sqlite:///dibs.db (the default, in this "
        "directory), so a new empty one was made; give --db URL or set DIBS_DB to use yours\n"
    )
    again = run_dibs(["status"], tmp_path)  # it exists now: nothing more to say
    assert again.returncode == 0 and again.stderr == ""
    chosen = run_dibs(["--db", f"sqlite:///{tmp_path / 'new.db'}", "inventory", "list"], tmp_path)
    assert chosen.returncode == 2 and "no database at" in chosen.stderr
    assert not (tmp_path / "new.db").exists()


def test_an_allocation_that_changes_no_status_prints_no_empty_table(dibs: Dibs) -> None:
    """`dibs reallocate W-1002 --from main` moved the order's stock and printed a "Reallocated"
    table with a header and no row; the summary on stderr already says nothing changed."""
    dibs("inventory", "set", "MUG", "2")
    dibs("orders", "add", "A", "--channel", "web", "--line", "MUG:1")
    dibs("allocate", "A")
    for args in (("allocate", "A"), ("reallocate", "A"), ("allocate", "A", "--dry-run")):
        result = dibs(*args)
        assert "┏" not in result.stdout, (args, result.stdout)
        assert "0 changed status" in result.stderr or "0 would change" in result.stderr


def test_a_key_given_twice_in_an_order_object_takes_its_last_value_in_every_reader(
    dibs: Dibs, tmp_path: Path
) -> None:
    """The documented decision (README, "Decisions"): as JSON.parse and Python's json do, the
    last value wins, in a .json array and in JSON Lines (fast or precise path); the API: see
    tests/integration/web/test_api_orders.py."""
    line = '{"id": "D2", "channel": "web", "lines": [{"sku": "MUG", "qty": 1}], "id": "D3"}'
    (tmp_path / "d.jsonl").write_text(line + "\n")
    (tmp_path / "e.json").write_text(
        "[" + line.replace('"D2"', '"E2"').replace('"D3"', '"E3"') + "]"
    )
    # a value the quick path does not take sends the line to the json module's reader
    slow = line.replace('"qty": 1', '"qty": "1"').replace("D2", "F2").replace("D3", "F3")
    (tmp_path / "f.jsonl").write_text(slow + "\n")
    for name in ("d.jsonl", "e.json", "f.jsonl"):
        dibs("orders", "import", str(tmp_path / name))
    ids = {o["id"] for o in dibs.json("orders", "list", "--all")}
    assert ids == {"D3", "E3", "F3"}


@pytest.mark.parametrize("what", ["orders", "inventory", "kits"])
def test_a_directory_given_for_an_import_file_is_named_a_directory(
    dibs: Dibs, tmp_path: Path, what: str
) -> None:
    """Not "unknown inventory file type '(none)'": the folder has no suffix because it is one."""
    result = dibs(what, "import", str(tmp_path), expect=2)
    assert f"{tmp_path}: is a directory, expected a file" in result.stderr


def test_a_stock_quantity_takes_the_digits_a_stock_file_takes(dibs: Dibs) -> None:
    """`inventory set MUG 1_000` set 1000 and `inventory adjust MUG ١٢` added 12 (Python's
    int() reads both), where the same cell in a stock CSV is refused: one rule for a number a
    person types, in a file or on the command line."""
    dibs("inventory", "set", "MUG", "5")
    for command, typed in (("set", "1_000"), ("adjust", "١٢"), ("receive", "１２"), ("set", "3.0")):
        err = dibs("inventory", command, "MUG", typed, expect=2).stderr
        assert f"must be a whole number, got '{typed}'" in err, err
    assert dibs("inventory", "adjust", "MUG", "-2").returncode == 0
    assert dibs("inventory", "receive", "MUG", " +3 ").returncode == 0
    assert dibs.json("inventory", "list")[0]["on_hand"] == 6


def test_adding_an_order_whose_id_exists_says_nothing_was_added(dibs: Dibs) -> None:
    """`orders add A` of an existing A said "nothing imported (dibs never overwrites an order
    on import)": no import was run."""
    dibs("orders", "add", "A", "--channel", "web", "--line", "MUG:1")
    err = dibs("orders", "add", "A", "--channel", "web", "--line", "MUG:2", expect=2).stderr
    assert "dibs: error: order id already exists: A; nothing was added" in err, err
    assert "import" not in err, err
    assert dibs.json("orders", "show", "A")["lines"][0]["qty"] == 1


def test_an_id_typed_in_the_other_case_gets_a_did_you_mean(dibs: Dibs) -> None:
    """Ids are case-sensitive: `orders show sh-10003` only said "no order with id 'sh-10003'",
    though SH-10003 was right there."""
    dibs("orders", "add", "SH-1", "--channel", "web", "--line", "MUG:1")
    hint = "no order with id 'sh-1'; did you mean 'SH-1'? (ids are case-sensitive)"
    for command in (
        ["orders", "show", "sh-1"],
        ["orders", "ship", "sh-1"],
        ["allocate", "sh-1"],
        ["orders", "tag", "sh-1", "vip"],
        ["orders", "edit", "sh-1", "--city", "Oslo"],
    ):
        err = dibs(*command, expect=1).stderr
        assert hint in err, (command, err)
    assert "did you mean" not in dibs("orders", "show", "nope", expect=1).stderr
    assert dibs.json("orders", "show", "SH-1")["status"] == "awaiting_fulfillment"


def test_a_kit_row_in_a_stock_file_is_named_at_its_line(dibs: Dibs, tmp_path: Path) -> None:
    """A stock file with a kit's SKU said "'BOX' is a kit: …" with no file or line: the one
    problem of an import that named neither."""
    dibs("kits", "set", "BOX", "MUG:1", "TEA:2")
    (tmp_path / "stock.csv").write_text("sku,on_hand\nMUG,5\nBOX,3\nTEA,4\n")
    err = dibs("inventory", "import", "stock.csv", expect=2).stderr
    assert err.splitlines() == [
        "dibs: error: stock.csv: 1 problem, nothing imported",
        "stock.csv:3: 'BOX' is a kit: it has no stock of its own; change its components' "
        "stock instead (MUG, TEA)",
    ], err
    assert dibs.json("inventory", "list", "--sku", "MUG") == []


def test_inventory_list_of_a_mistyped_sku_says_so_as_orders_list_does(dibs: Dibs) -> None:
    """`orders list --sku MUG-16Z` noted the typo; `inventory list --sku MUG-16Z` printed an
    empty table, as if the SKU had no stock."""
    dibs("inventory", "set", "MUG-16OZ", "3")
    result = dibs("inventory", "list", "--sku", "MUG-16Z", "--json")
    assert json.loads(result.stdout) == []
    assert "dibs: note: no order or stock has sku 'MUG-16Z'; did you mean 'MUG-16OZ'?" in (
        result.stderr
    ), result.stderr
    assert "note" not in dibs("inventory", "list", "--sku", "MUG-16OZ").stderr


def test_events_of_an_id_no_order_has_say_so(dibs: Dibs) -> None:
    """`events list --order sh-1` printed an empty table, as for an order with no events."""
    dibs("orders", "add", "SH-1", "--channel", "web", "--line", "MUG:1")
    result = dibs("events", "list", "--order", "sh-1", "--json")
    assert json.loads(result.stdout) == []
    assert "dibs: note: no order with id 'sh-1'; did you mean 'SH-1'?" in result.stderr
    quiet = dibs("events", "list", "--order", "SH-1", "--type", "order.shipped", "--json")
    assert json.loads(quiet.stdout) == [] and "note" not in quiet.stderr


def test_a_closed_status_with_a_held_allocation_status_says_why_nothing_matches(
    dibs: Dibs,
) -> None:
    """`orders list --status shipped,allocated` (meaning "shipped or allocated") printed an empty
    table: the kinds are ANDed, and a shipped order is always unallocated."""
    dibs("inventory", "set", "MUG", "2")
    dibs("orders", "add", "A", "--channel", "web", "--line", "MUG:1")
    dibs("orders", "add", "B", "--channel", "web", "--line", "MUG:1")
    dibs("allocate", "A", "B")
    dibs("orders", "ship", "A")
    result = dibs("orders", "list", "--status", "shipped,allocated", "--json")
    assert json.loads(result.stdout) == []
    assert "dibs: note: shipped orders are unallocated (they hold no stock)" in result.stderr
    shipped = dibs("orders", "list", "--status", "shipped", "--json")
    assert [o["id"] for o in json.loads(shipped.stdout)] == ["A"] and not shipped.stderr


def test_closing_several_ids_names_every_unknown_one(dibs: Dibs) -> None:
    """`orders cancel NOPE1 A NOPE2` named NOPE1 alone: fixing it then failed on NOPE2."""
    dibs("orders", "add", "A", "--channel", "web", "--line", "MUG:1")
    for how in ("cancel", "ship", "dropship"):
        err = dibs("orders", how, "NOPE1", "A", "NOPE2", expect=1).stderr
        assert "dibs: error: no order with id 'NOPE1', 'NOPE2'" in err, err
    assert dibs.json("orders", "show", "A")["status"] == "awaiting_fulfillment"
