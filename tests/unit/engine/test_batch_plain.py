"""The plain batch loop (`engine.service.batch_plain`) against the general one: for any chunk
of one-warehouse, kit-free orders under a line-by-line policy, `decide_plain` must write what
`batch._decide_chunk` (`model.attempt` + `ChunkWrites.reserve_lines`) writes, note the same
status changes and leave the same stock."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from engine.model import Actor, AllocationStatus, Policy
from engine.service import batch
from engine.service.batch_plain import decide_plain, is_plain
from engine.service.batch_writes import ChunkWrites
from engine.service.changes import StatusChanges
from engine.service.records import QueueEntry

SKUS = st.sampled_from(["A", "B", "C"])
WAREHOUSES = st.sampled_from(["main", "east"])
STATUSES = st.sampled_from([str(s) for s in AllocationStatus])


class _Bulk:
    """What `ChunkWrites` asks of its Bulk before a flush: the dialect and value conversion."""

    def __init__(self, dialect: str) -> None:
        self.dialect = SimpleNamespace(name=dialect)

    def value(self, _column: Any, value: Any) -> Any:
        return value


@st.composite
def chunks(draw: st.DrawFn) -> list[tuple[Any, ...]]:
    """Rows as `batch_plain.read_plain` gives them: by queue position, then line number, with
    made-up rowids for the order (1000 + pos) and the line (10 * pos + line_no)."""
    rows = []
    for pos in range(draw(st.integers(0, 8))):
        before, wh = draw(STATUSES), draw(WAREHOUSES)
        for line_no in range(1, draw(st.integers(1, 4)) + 1):
            qty = draw(st.integers(0, 5))
            reserved = draw(st.integers(0, qty + 1))
            line = (pos, f"O{pos}", before, wh, line_no, draw(SKUS), qty, reserved)
            rows.append((*line, 1000 + pos, 10 * pos + line_no))
    return rows


stocks = st.dictionaries(
    st.tuples(SKUS, WAREHOUSES), st.tuples(st.integers(-3, 12), st.integers(0, 6)), max_size=6
)


def _general(rows: list[Any], entry: QueueEntry, stock: dict[Any, list[int]], writes: Any) -> Any:
    by_pos: dict[int, Any] = {}
    for pos, oid, alloc, wh, line_no, sku, qty, reserved, _, _ in rows:
        found = by_pos.setdefault(pos, (oid, alloc, wh, [], []))
        found[3].append(line_no)
        found[4].append((sku, qty, reserved))
    notes = StatusChanges()
    done = batch._decide_chunk(by_pos, entry, stock, writes, {}, notes)
    return done, notes


@given(
    chunks(),
    stocks,
    st.sampled_from([Policy.LINES, Policy.UNITS]),
    st.sampled_from(["sqlite", "postgresql"]),
    st.sampled_from([Actor(), Actor("rules", "vip", "set1")]),
    st.booleans(),
)
def test_plain_loop_writes_what_the_model_decides(
    rows: list[Any],
    stock: dict[Any, tuple[int, int]],
    policy: Policy,
    dialect: str,
    actor: Actor,
    rowids: bool,
) -> None:
    entry = QueueEntry("", policy, actor)
    assert is_plain(entry, {})
    theirs, ours = ChunkWrites(_Bulk(dialect), "T"), ChunkWrites(_Bulk(dialect), "T")  # type: ignore[arg-type]
    theirs.begin(actor)
    ours.begin(actor, rowids)
    assert ours.rowids == (rowids and dialect == "sqlite")
    their_stock = {key: list(value) for key, value in stock.items()}
    our_stock = {key: list(value) for key, value in stock.items()}
    done, notes = _general(rows, entry, their_stock, theirs)
    our_notes = StatusChanges()
    assert decide_plain(rows, entry, our_stock, ours, our_notes) == done  # type: ignore[arg-type]
    assert list(our_notes._changes.items()) == list(notes._changes.items())
    assert our_stock == their_stock
    for name in ("reservations", "ledger", "units"):
        assert getattr(ours, name) == getattr(theirs, name), name
    if ours.rowids:  # the same rows, named by the rowids the chunk's rows carry
        line_of = {row[9]: (row[1], row[4]) for row in rows}
        order_of = {row[8]: row[1] for row in rows}
        assert [(n, *line_of[r]) for n, r in ours.lines] == theirs.lines
        assert [(s, at, order_of[r]) for s, at, r in ours.status] == theirs.status
    else:
        assert (ours.lines, ours.status) == (theirs.lines, theirs.status)


def test_only_the_plain_case_takes_the_plain_loop() -> None:
    assert is_plain(QueueEntry(""), {})
    assert not is_plain(QueueEntry("", Policy.ALL_OR_NOTHING), {})
    assert not is_plain(QueueEntry("", warehouses=("main", "east")), {})
    assert not is_plain(QueueEntry(""), {"KIT": (("A", 1),)})
    assert not is_plain([QueueEntry("O1")], {})
