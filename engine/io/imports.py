"""Reading order and inventory files into domain objects: parsing and validation, no database.

The public API of importing, and the only module the rest of dibs imports it from. The work is
done by `engine.import_json` (JSON and JSON Lines), `engine.import_csv` (CSV orders and
inventory) and `engine.fields` (field validators, building an `Order` from a mapping, messages).

A file is accepted whole or not at all: every problem in it is collected (as
`<file>:<line>: <message>`) and reported in one `BadInput`, so a user fixes a bad export in one
pass and nothing half-imported is ever written (SPEC §8).

Formats (SPEC §2, §8), chosen by the file's suffix:

- `.json`: an array of order objects; `.jsonl` / `.ndjson`: one order object per line
  (`engine.import_json`).
- `.csv` (orders): one row per order *line*, line 1 the header; `.csv` (inventory):
  `sku,on_hand[,warehouse]`, header required (`engine.import_csv`).

Files are UTF-8 (a BOM is skipped). Orders without `placed_at` get `now`, taken once: one
instant for the whole file. The decisions on field values (whitespace, country, timestamps,
money, quantities, ids, statuses) are listed in `engine.fields`; those on CSV cells (blank
continuation cells, tag separators, attribute strings) in `engine.import_csv`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO, TypeVar

from engine.errors import BadInput, plural, quoted
from engine.io.fields import (
    LINE_KEYS,
    ORDER_KEYS,
    SHIP_TO_KEYS,
    Invalid,
    check_order_mapping,
    qty,
    utc,
)
from engine.io.import_csv import iter_orders_csv
from engine.io.import_inventory import read_inventory_csv
from engine.io.import_json import iter_json_array, iter_jsonl
from engine.io.import_kits import read_kits_csv
from engine.memory import collector_paused
from engine.model import MAX_QTY, Order

__all__ = [
    "LINE_KEYS",
    "MAX_QTY",
    "ORDER_KEYS",
    "SHIP_TO_KEYS",
    "check_order_file",
    "check_order_mapping",
    "order_from_mapping",
    "parse_component_spec",
    "parse_line_spec",
    "read_inventory",
    "read_kits",
    "read_orders",
    "refuse_if",
    "stream_orders",
]

_T = TypeVar("_T")
#: An order as a reader yields it, with where it starts in its file (`file:line`).
Found = tuple[Order, str]

# --------------------------------------------------------------------------------------------
# Public entry points


def read_orders(
    path: Path, now: datetime | None = None, places: dict[str, str] | None = None
) -> list[Order]:
    """Parse and validate an order file (`.json`, `.jsonl`/`.ndjson` or `.csv`).

    `now` is the `placed_at` of orders that give none (default: the current time, taken once).
    `places`, when given, receives `file:line` of each order (where it starts), so a later
    refusal (an id that already exists) can point into the file.
    Raises `BadInput` listing every problem when anything in the file is invalid; then no
    order is returned at all.
    """
    problems: list[str] = []
    orders: list[Order] = []
    with collector_paused():
        for order, where in stream_orders(path, problems, now):
            orders.append(order)
            if places is not None:
                places[order.id] = where
    refuse_if(problems, str(path))
    return orders


_ITERATORS: dict[str, Callable[[TextIO, str, datetime, list[str]], Iterator[Found]]] = {
    ".json": iter_json_array,
    ".jsonl": iter_jsonl,
    ".ndjson": iter_jsonl,
    ".csv": iter_orders_csv,
}


def check_order_file(path: Path) -> None:
    """Refuse (`BadInput`) an order file that cannot be read at all: an unknown suffix, no such
    file, a directory, no permission; before anything else is opened (the database)."""
    _order_reader(path)
    _open_text(path).close()


def _order_reader(path: Path) -> Callable[[TextIO, str, datetime, list[str]], Iterator[Found]]:
    reader = _ITERATORS.get(path.suffix.lower())
    if reader is None:
        raise BadInput(
            f"{path}: unknown order file type {quoted(path.suffix or '(none)')}; "
            "expected .json (an array), .jsonl (one order per line) or .csv (one row per line)"
        )
    return reader


def stream_orders(path: Path, problems: list[str], now: datetime | None = None) -> Iterator[Found]:
    """Each valid order of an order file with where it starts (`file:line`), as it is read.

    The streaming form of `read_orders`, for an import that writes chunk by chunk inside one
    transaction: every problem is appended to `problems` as it is met, and the caller must
    refuse the whole file (`refuse_if`) when there is any once the stream ends. Orders after
    a problem are still yielded (and still checked), so one pass lists every problem.
    A file that cannot be opened, has an unknown suffix or is not UTF-8 raises `BadInput`.
    """
    name = str(path)
    reader = _order_reader(path)
    when = utc(now) if now is not None else datetime.now(UTC)
    with _open_text(path) as handle:
        try:
            yield from reader(handle, name, when, problems)
        except UnicodeDecodeError:
            raise BadInput(_not_utf8(path)) from None
        except OSError as exc:
            raise BadInput(f"{name}: cannot read: {exc.strerror or exc}") from None


def read_inventory(path: Path, places: dict[str, str] | None = None) -> list[tuple[str, str, int]]:
    """Parse an inventory CSV `sku,on_hand[,warehouse]` into `(sku, warehouse, on_hand)` rows.

    The warehouse defaults to `main`. `on_hand` must be a whole number >= 0. The same
    `(sku, warehouse)` twice is an error. Raises `BadInput` listing every problem. `places`,
    when given, receives each SKU's first `file:line`, for problems found later against the
    database (a kit SKU).
    """
    name = str(path)
    _not_a_directory(path)
    if path.suffix.lower() != ".csv":
        raise BadInput(
            f"{name}: unknown inventory file type {quoted(path.suffix or '(none)')}; "
            "expected .csv with columns sku,on_hand[,warehouse]"
        )
    problems: list[str] = []
    with _open_text(path) as handle:
        rows = _guard_decoding(lambda: read_inventory_csv(handle, name, problems, places), path)
    refuse_if(problems, name)
    return rows


def read_kits(path: Path, places: dict[str, str]) -> dict[str, list[tuple[str, int]]]:
    """Parse a kit CSV `kit,component,qty` into kit -> [(component, qty)].

    `places` receives each kit's first `file:line`, for problems found later against the
    database. Raises `BadInput` listing every problem of the file.
    """
    name = str(path)
    _not_a_directory(path)
    if path.suffix.lower() != ".csv":
        raise BadInput(
            f"{name}: unknown kit file type {quoted(path.suffix or '(none)')}; "
            "expected .csv with columns kit,component,qty"
        )
    problems: list[str] = []
    with _open_text(path) as handle:
        kits = _guard_decoding(lambda: read_kits_csv(handle, name, problems, places), path)
    refuse_if(problems, name)
    if not kits:
        raise BadInput(f"{name}: no kits in the file, nothing imported")
    return kits


def order_from_mapping(obj: object, where: str, now: datetime) -> Order:
    """Validate one order given as a mapping (SPEC §2 shape) and build it.

    For `dibs orders add` and rule-file test fixtures. `where` prefixes every problem
    (e.g. `rules.yaml:12:9`). Raises `BadInput` listing every problem.
    """
    problems: list[str] = []
    order = check_order_mapping(obj, where, now, problems)
    if order is None:
        count = plural(len(problems), "problem")
        raise BadInput(f"{where}: invalid order ({count})", problems=problems)
    return order


def parse_line_spec(spec: str) -> tuple[str, int]:
    """Parse the CLI's `--line SKU:QTY` into `(sku, qty)`; raises `BadInput` when malformed."""
    sku, sep, qty_text = spec.rpartition(":")  # rpartition: a SKU may itself contain ':'
    sku = sku.strip()
    if not sep or not sku:
        raise BadInput(f"--line {quoted(spec)}: expected SKU:QTY, e.g. TSHIRT-BLK-M:2")
    try:
        return sku, qty(qty_text)
    except Invalid as exc:
        raise BadInput(f"--line {quoted(spec)}: qty {exc}") from None


def parse_component_spec(spec: str) -> tuple[str, int]:
    """Parse `dibs kits set`'s `COMPONENT:QTY`; raises `BadInput` when malformed."""
    sku, sep, qty_text = spec.rpartition(":")
    sku = sku.strip()
    if not sep or not sku:
        raise BadInput(f"component {spec!r}: expected COMPONENT:QTY, e.g. MUG:1")
    try:
        return sku, qty(qty_text)
    except Invalid as exc:
        raise BadInput(f"component {spec!r}: qty {exc}") from None


# --------------------------------------------------------------------------------------------
# File handling


def _not_a_directory(path: Path) -> None:
    """A directory given for a file is named as such (before its missing suffix is)."""
    if path.is_dir():
        raise BadInput(f"{path}: is a directory, expected a file")


def _open_text(path: Path) -> TextIO:
    """Open for reading as UTF-8 (a BOM, as spreadsheet tools write, is skipped)."""
    name = str(path)
    try:
        _not_a_directory(path)
        # newline="" lets the csv module see quoted newlines; JSON does not care.
        return path.open(encoding="utf-8-sig", newline="")
    except FileNotFoundError:
        raise BadInput(f"{name}: no such file") from None
    except PermissionError:
        raise BadInput(f"{name}: permission denied") from None
    except OSError as exc:
        raise BadInput(f"{name}: cannot read: {exc.strerror or exc}") from None


def _line_number(problem: str, start: int) -> int:
    digits = problem[start : problem.find(":", start)]
    return int(digits) if digits.isdigit() else 0


def _guard_decoding(read: Callable[[], _T], path: Path) -> _T:
    try:
        return read()
    except UnicodeDecodeError:
        raise BadInput(_not_utf8(path)) from None
    except OSError as exc:
        raise BadInput(f"{path}: cannot read: {exc.strerror or exc}") from None


def _not_utf8(path: Path) -> str:
    """`file:line:column: not UTF-8 text (…)` for the file's first byte that is not UTF-8.

    The text reader's own error counts bytes from the start of its current buffer, not of the
    file, and names no line: the file is read again, a line at a time (a line break byte never
    occurs inside a UTF-8 sequence), so even a big file is not held whole.
    """
    with path.open("rb") as raw:
        for number, line in enumerate(raw, start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as exc:
                bad = line[exc.start : exc.start + 1].hex()
                column = len(line[: exc.start].decode("utf-8-sig")) + 1
                csv = path.suffix.lower() == ".csv"
                spreadsheet = " (a spreadsheet's CSV UTF-8)" if csv else ""
                return (
                    f"{path}:{number}:{column}: not UTF-8 text ({exc.reason}, byte "
                    f"0x{bad}); save the file as UTF-8{spreadsheet}"
                )
    return f"{path}: not UTF-8 text; save the file as UTF-8"


def refuse_if(problems: list[str], name: str) -> None:
    """Raise the one `BadInput` of a file when it has any problem, listed in file order."""
    if problems:
        # CSV order-level problems are found after the rows: report everything in file order.
        problems.sort(key=lambda problem: _line_number(problem, len(name) + 1))
        raise BadInput(
            f"{name}: {plural(len(problems), 'problem')}, nothing imported", problems=problems
        )
