"""What the batch-loop property tests (test_batch_plain.py, test_batch_routed.py) share: the
queue rows a chunk reads, a Bulk stand-in for `ChunkWrites`, the general path's view of the
rows, and the comparison of two chunks' writes."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from hypothesis import strategies as st

from engine.model import AllocationStatus
from engine.service.batch_writes import ChunkWrites

STATUSES = st.sampled_from([str(s) for s in AllocationStatus])


class FakeBulk:
    """What `ChunkWrites` asks of its Bulk before a flush: the dialect and value conversion."""

    def __init__(self, dialect: str) -> None:
        self.dialect = SimpleNamespace(name=dialect)

    def value(self, _column: Any, value: Any) -> Any:
        return value


@st.composite
def chunks(
    draw: st.DrawFn, skus: st.SearchStrategy[str], warehouses: st.SearchStrategy[str]
) -> list[tuple[Any, ...]]:
    """Rows as `batch_plain.read_plain` gives them: by queue position, then line number, each
    led by a made-up order rowid (1000 + pos, the order's key) and ending with a made-up line
    rowid (10 * pos + line_no)."""
    rows = []
    for pos in range(draw(st.integers(0, 8))):
        before, wh = draw(STATUSES), draw(warehouses)
        for line_no in range(1, draw(st.integers(1, 4)) + 1):
            qty = draw(st.integers(0, 5))
            reserved = draw(st.integers(0, qty + 1))
            line = (1000 + pos, f"O{pos}", before, wh, line_no, draw(skus), qty, reserved)
            rows.append((*line, 10 * pos + line_no))
    return rows


def by_pos(rows: list[Any]) -> dict[int, Any]:
    """The rows as the general path (`batch._decide_chunk`) takes them (by the order's key:
    with one entry for all, the path never looks a position up)."""
    out: dict[int, Any] = {}
    for key, oid, alloc, wh, line_no, sku, qty, reserved, _ in rows:
        found = out.setdefault(key, (oid, alloc, wh, [], []))
        found[3].append(line_no)
        found[4].append((sku, qty, reserved))
    return out


def writes_for(dialect: str) -> ChunkWrites:
    return ChunkWrites(FakeBulk(dialect), "T")  # type: ignore[arg-type]


def paired_writes(
    dialect: str, actor: Any, rowids: bool, stock: dict[Any, list[int]]
) -> tuple[ChunkWrites, ChunkWrites, dict[Any, list[int]], dict[Any, list[int]]]:
    """The general path's writes and stock, and the fast loop's (with `rowids`), each from
    its own copy of `stock`, for a property test to compare."""
    theirs, ours = writes_for(dialect), writes_for(dialect)
    theirs.begin(actor)
    ours.begin(actor, rowids)
    assert ours.rowids == (rowids and dialect == "sqlite")
    copy = {key: list(value) for key, value in stock.items()}
    return theirs, ours, copy, {key: list(value) for key, value in stock.items()}


def assert_same_writes(ours: ChunkWrites, theirs: ChunkWrites, rows: list[Any]) -> None:
    """The same reservations, ledger rows, units, line counters and statuses; where `ours`
    names lines and orders by rowid, by the rowids the chunk's rows carry."""
    for name in ("reservations", "ledger", "units"):
        assert getattr(ours, name) == getattr(theirs, name), name
    if ours.rowids:
        line_of = {row[8]: (row[1], row[4]) for row in rows}
        order_of = {row[0]: row[1] for row in rows}
        assert [(n, *line_of[r]) for n, r in ours.lines] == theirs.lines
        assert [(s, at, order_of[r]) for s, at, r in ours.status] == theirs.status
    else:
        assert (ours.lines, ours.status) == (theirs.lines, theirs.status)
