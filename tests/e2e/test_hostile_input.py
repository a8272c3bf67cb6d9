"""Hostile input through the `dibs` command (issue #9 items 7, 8, 11): every case is one clear
message and exit 2 (or 1 for a valid request that fails), never a traceback, never a change to
the database; the same file is refused alike on SQLite and PostgreSQL. Ends with a seeded fuzz
over imports and command lines, bounded to well under a minute.

`engine.cli.main.main` is called in-process (the console script is exactly `sys.exit(main())`),
so an exception escaping it is the traceback a user would see, and hundreds of cases fit in
seconds; a few cases also run the real process to see its stderr.
"""

from __future__ import annotations

import json
import random
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.cli.main import main
from engine.store import Store
from tests.conftest import _clean
from tests.integration.helpers import dump

ROOT = Path(__file__).resolve().parents[2]
ORDER = {"id": "A1", "channel": "web", "lines": [{"sku": "MUG", "qty": 1}]}


@pytest.fixture(params=["sqlite", "postgres"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated database URL on each backend, holding one order and one stock row."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'shop.db'}"
    else:
        url = request.getfixturevalue("pg_url")
        _clean_store = Store.open(url)
        _clean(_clean_store)
        _clean_store.dispose()
    assert main(["--db", url, "inventory", "set", "MUG", "5"]) == 0
    assert main(["--db", url, "orders", "add", "KEEP", "--channel", "web", "--line", "MUG:1"]) == 0
    yield url


def run(url: str, *argv: str) -> int:
    """`dibs --db URL argv…` in-process; an exception escaping it fails the test."""
    return main(["--db", url, *argv])


def refused(url: str, capsys: pytest.CaptureFixture[str], *argv: str, code: int = 2) -> str:
    """Run, expect exit `code` with the database untouched; the error text."""
    store = Store.open(url, migrate=False)
    before = dump(store)
    capsys.readouterr()
    assert run(url, *argv) == code
    err = capsys.readouterr().err
    assert dump(store) == before
    store.dispose()
    assert err.startswith("dibs: error:"), err
    assert len(err) < 5000, f"{len(err)} characters of error"
    return err


def _orders_file(tmp_path: Path, name: str, orders: list[dict[str, object]]) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(orders))
    return path


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("id", "i" * 201, "id is too long: 201 characters, at most 200"),
        ("tags", ["t" * 101], "tags is too long: 101 characters, at most 100"),
        ("ship_to", {"postal_code": "9" * 33}, "postal_code is too long"),
        ("total", 10**14, "total is too large"),
        ("channel", "we\u0000b", "NUL character"),
        ("placed_at", "0001-01-01T00:00:00+01:00", "placed_at is out of range"),
        ("lines", [{"sku": "s" * 201, "qty": 1}], "sku is too long"),
        ("warehouse", "w" * 101, "warehouse is too long"),
    ],
)
def test_values_a_column_cannot_hold_are_refused_alike_on_both_backends(
    db: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    field: str,
    value: object,
    message: str,
) -> None:
    path = _orders_file(tmp_path, "orders.json", [{**ORDER, field: value}])
    err = refused(db, capsys, "orders", "import", str(path))
    assert f"{path}:1:" in err and message in err, err


def test_lone_surrogates_in_json_are_refused(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "orders.json"
    path.write_text('[{"id": "A\\ud800", "channel": "web", "lines": [{"sku": "M", "qty": 1}]}]')
    assert "lone surrogate" in refused(db, capsys, "orders", "import", str(path))


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("deep.json", "[" * 100_000 + "]" * 100_000, "nested too deeply"),
        ("big.json", '[{"id": 1' + "0" * 5000 + "}]", "more than 4,300 digits"),
        (
            "cell.csv",
            "id,channel,placed_at,sku,qty\nA,web,2026-01-01," + "x" * 140_000 + ",1\n",
            "a cell is longer than 131,072 characters",
        ),
        ("stock.csv", "sku,on_hand\nMUG," + "9" * 5000 + "\n", "on_hand is too large"),
    ],
)
def test_files_beyond_the_parsers_limits_are_refused(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, text: str, message: str
) -> None:
    path = tmp_path / name
    path.write_text(text)
    what = "inventory" if name == "stock.csv" else "orders"
    err = refused(db, capsys, what, "import", str(path))
    assert message in err and str(path) in err, err


def test_command_line_values_beyond_the_columns(
    db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert "at most 200" in refused(db, capsys, "inventory", "set", "S" * 300, "1")
    assert "at most 100" in refused(
        db, capsys, "inventory", "set", "MUG", "1", "--warehouse", "w" * 101
    )
    assert "at most 200" in refused(
        db, capsys, "orders", "edit", "KEEP", "--line", "S" * 201 + ":1"
    )
    assert "at most 32" in refused(
        db, capsys, "allocate", "--all", "--order-by", ",".join(["total"] * 3000)
    )
    long_date = refused(db, capsys, "orders", "add", "B", "--channel", "w", "--line", "M:1",
                        "--placed-at", "0001-01-01T00:00:00+01:00")  # fmt: skip
    assert "out of range" in long_date
    assert "no order with id" in refused(db, capsys, "orders", "show", "x" * 5000, code=1)


def test_arguments_that_are_not_utf8(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    bad = b"MUG\xff".decode("utf-8", "surrogateescape")  # what Python makes of such bytes
    assert run(url, "inventory", "set", bad, "1") == 2
    assert "argument 5 is not valid UTF-8" in capsys.readouterr().err
    assert run(url, "orders", "show", "\udc80") == 2


def test_a_split_that_would_need_a_too_long_id_fails_cleanly(
    db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    oid = "L" * 199
    assert (
        run(db, "orders", "add", oid, "--channel", "web", "--line", "MUG:2", "--line", "X:1") == 0
    )
    assert run(db, "allocate", oid) == 0
    assert "longer than 200 characters" in refused(db, capsys, "orders", "split", oid, code=1)


def test_money_keeps_every_digit_through_the_command(db: str, tmp_path: Path) -> None:
    path = _orders_file(tmp_path, "o.json", [{**ORDER, "total": "99999999999999.9999"}])
    assert run(db, "orders", "import", str(path)) == 0
    out = subprocess.run(
        [sys.executable, "-m", "engine.cli", "--db", db, "orders", "show", "A1", "--json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    ).stdout
    assert json.loads(out)["total"] == "99999999999999.9999"


# ----------------------------------------------------------------------------- --db files


def test_what_is_not_a_dibs_database_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import sqlite3

    (tmp_path / "dir").mkdir()
    (tmp_path / "notes.db").write_text("just some text\n")
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE customers (id INTEGER)")
    before = other.read_bytes()
    cases = {
        f"sqlite:///{tmp_path / 'dir'}": "is a directory",
        f"sqlite:///{tmp_path / 'notes.db'}": "is not a SQLite database",
        f"sqlite:///{other}": "belongs to another application",
        f"sqlite:///{tmp_path / ('x' * 5000)}": "cannot be read",
    }
    for url, message in cases.items():
        capsys.readouterr()
        assert run(url, "inventory", "list") == 2, url
        err = capsys.readouterr().err
        assert message in err and len(err) < 500, err
    assert other.read_bytes() == before  # not silently extended with dibs' tables


def test_the_real_process_prints_one_line_and_no_traceback(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "engine.cli",
            "--db",
            f"sqlite:///{tmp_path}",
            "inventory",
            "list",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1


# ------------------------------------------------------------------------------------- fuzz

_HOSTILE_TEXT = [
    "",
    " ",
    "x" * 201,
    "y" * 5000,
    "z" * 100_000,
    "nul\u0000",
    "\ud800",
    "é" * 150,
    "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59-05:00",
    "1" * 4400,
    "-1",
    "NaN",
    "1e400",
    "99999999999999.99999",
    "[" * 600,
    "'; DROP TABLE orders; --",
    "a:b:c",
    "MUG:0",
    "MUG:" + "9" * 20,
]
_HOSTILE_VALUES: list[object] = [
    *_HOSTILE_TEXT,
    10**14,
    2**70,
    -5,
    1.5,
    True,
    None,
    [],
    {},
    {"x": {"y": [1]}},
    [[[[[[[]]]]]]],
]


def _fuzz_order(rng: random.Random) -> dict[str, object]:
    order: dict[str, object] = {
        "id": f"F{rng.randrange(10**6)}",
        "channel": "web",
        "lines": [{"sku": "MUG", "qty": 1}],
    }
    for _ in range(rng.randint(1, 3)):
        field = rng.choice(
            ["id", "channel", "placed_at", "total", "tags", "warehouse", "shipping_method",
             "ship_to", "attributes", "lines", "status"]
        )  # fmt: skip
        value = rng.choice(_HOSTILE_VALUES)
        if field == "ship_to":
            value = {rng.choice(["name", "country", "state", "city", "postal_code"]): value}
        elif field == "attributes":
            value = {rng.choice(["k", "\u0000", "x" * 300]): value}
        elif field == "lines":
            value = [{"sku": rng.choice(_HOSTILE_VALUES), "qty": rng.choice(_HOSTILE_VALUES)}]
        elif field == "tags" and rng.random() < 0.7:
            value = [value]
        order[field] = value
    return order


def _fuzz_file(rng: random.Random, tmp_path: Path, n: int) -> list[str]:
    kind = rng.choice(["json", "jsonl", "csv", "inventory"])
    if kind == "inventory":
        path = tmp_path / f"f{n}.csv"
        cells = [rng.choice(_HOSTILE_TEXT) for _ in range(3)]
        text = "sku,on_hand,warehouse\n" + ",".join(c.replace(",", ";") for c in cells)
        path.write_bytes(text.encode("utf-8", "surrogatepass"))
        return ["inventory", "import", str(path)]
    if kind == "csv":
        path = tmp_path / f"f{n}.csv"
        cells = ["F1", "web", "2026-01-01", "MUG", "1", ""]
        cells[rng.randrange(len(cells))] = rng.choice(_HOSTILE_TEXT).replace(",", ";")
        text = "id,channel,placed_at,sku,qty,postal_code\n" + ",".join(cells) + "\n"
        path.write_bytes(text.encode("utf-8", "surrogatepass"))
        return ["orders", "import", str(path)]
    orders = [_fuzz_order(rng) for _ in range(rng.randint(1, 3))]
    path = tmp_path / f"f{n}.{kind}"
    if kind == "json":
        path.write_text(json.dumps(orders))
    else:
        path.write_text("\n".join(json.dumps(o) for o in orders))
    if rng.random() < 0.1:  # bytes that are not UTF-8
        path.write_bytes(path.read_bytes()[:-3] + b"\xff\xfe]")
    return ["orders", "import", str(path)]


def _fuzz_command(rng: random.Random) -> list[str]:
    v = rng.choice(_HOSTILE_TEXT)
    return rng.choice(
        [
            ["orders", "show", v],
            ["inventory", "set", v, "1"],
            ["inventory", "adjust", "MUG", v],
            ["orders", "add", v, "--channel", "web", "--line", "MUG:1"],
            ["orders", "add", "N1", "--channel", v, "--line", v],
            ["orders", "add", "N2", "--channel", "w", "--line", "M:1", "--placed-at", v],
            ["orders", "add", "N3", "--channel", "w", "--line", "M:1", "--total", v],
            ["orders", "edit", "KEEP", "--line", v],
            ["allocate", v],
            ["allocate", "--all", "--order-by", v],
            ["allocate", "--all", "--where", v],
            ["deallocate", "--where", v],
            ["orders", "list", "--status", v],
            ["inventory", "list", "--sku", v],
            ["orders", "import", v],
        ]
    )


def test_seeded_fuzz_over_imports_and_command_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """400 random hostile imports and command lines: exit 0, 1 or 2; no exception escapes;
    a refusal (1 or 2) leaves the database exactly as it was; each case within 5 s; the whole
    run within a memory bound."""
    rng = random.Random(20261201)
    url = f"sqlite:///{tmp_path / 'fuzz.db'}"
    assert run(url, "inventory", "set", "MUG", "5") == 0
    assert run(url, "orders", "add", "KEEP", "--channel", "web", "--line", "MUG:1") == 0
    store = Store.open(url, migrate=False)
    capsys.readouterr()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    outcomes: dict[int, int] = {}
    for n in range(400):
        argv = _fuzz_file(rng, tmp_path, n) if rng.random() < 0.6 else _fuzz_command(rng)
        before = dump(store)
        t0 = time.monotonic()
        code = run(url, *argv)
        took = time.monotonic() - t0
        err = capsys.readouterr().err
        outcomes[code] = outcomes.get(code, 0) + 1
        assert code in (0, 1, 2), (argv[:3], code, err[:500])
        assert took < 5, (argv[:3], took)
        assert len(err) < 20_000, (argv[:3], len(err))
        if code != 0:
            assert err.startswith("dibs: error:"), (argv[:3], err[:500])
            assert dump(store) == before, argv[:3]
    store.dispose()
    assert time.monotonic() - started < 60
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before < 1_000_000  # KiB
    assert outcomes.get(2, 0) > 100  # the generator really is hostile
