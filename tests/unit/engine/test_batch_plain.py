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
from engine.service.batch_plain import decide_plain, is_plain, stock_keys
from engine.service.batch_writes import ChunkWrites
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


class _Notes:
    def __init__(self) -> None:
        self.notes: list[tuple[Any, ...]] = []

    def note(self, *args: Any) -> None:
        self.notes.append(args)


@st.composite
def chunks(draw: st.DrawFn) -> list[tuple[int, str, str, str, int, str, int, int]]:
    """Rows as `batch._LINES_SQL` gives them: by queue position, then line number."""
    rows = []
    for pos in range(draw(st.integers(0, 8))):
        before, wh = draw(STATUSES), draw(WAREHOUSES)
        for line_no in range(1, draw(st.integers(1, 4)) + 1):
            qty = draw(st.integers(0, 5))
            reserved = draw(st.integers(0, qty + 1))
            rows.append((pos, f"O{pos}", before, wh, line_no, draw(SKUS), qty, reserved))
    return rows


stocks = st.dictionaries(
    st.tuples(SKUS, WAREHOUSES), st.tuples(st.integers(-3, 12), st.integers(0, 6)), max_size=6
)


def _general(rows: list[Any], entry: QueueEntry, stock: dict[Any, list[int]], writes: Any) -> Any:
    by_pos: dict[int, Any] = {}
    for pos, oid, alloc, wh, line_no, sku, qty, reserved in rows:
        found = by_pos.setdefault(pos, (oid, alloc, wh, [], []))
        found[3].append(line_no)
        found[4].append((sku, qty, reserved))
    notes = _Notes()
    done = batch._decide_chunk(by_pos, entry, stock, writes, {}, notes)  # type: ignore[arg-type]
    return done, notes.notes


@given(
    chunks(),
    stocks,
    st.sampled_from([Policy.LINES, Policy.UNITS]),
    st.sampled_from(["sqlite", "postgresql"]),
    st.sampled_from([Actor(), Actor("rules", "vip", "set1")]),
)
def test_plain_loop_writes_what_the_model_decides(
    rows: list[Any], stock: dict[Any, tuple[int, int]], policy: Policy, dialect: str, actor: Actor
) -> None:
    entry = QueueEntry("", policy, actor)
    assert is_plain(entry, {})
    theirs, ours = ChunkWrites(_Bulk(dialect), "T"), ChunkWrites(_Bulk(dialect), "T")  # type: ignore[arg-type]
    theirs.begin(actor)
    ours.begin(actor)
    their_stock = {key: list(value) for key, value in stock.items()}
    our_stock = {key: list(value) for key, value in stock.items()}
    done, notes = _general(rows, entry, their_stock, theirs)
    our_notes = _Notes()
    assert decide_plain(rows, entry, our_stock, ours, our_notes) == done  # type: ignore[arg-type]
    assert our_notes.notes == notes
    assert our_stock == their_stock
    for name in ("reservations", "ledger", "lines", "status", "units"):
        assert getattr(ours, name) == getattr(theirs, name), name
    assert stock_keys(rows) == {(row[5], row[3]) for row in rows}


def test_only_the_plain_case_takes_the_plain_loop() -> None:
    assert is_plain(QueueEntry(""), {})
    assert not is_plain(QueueEntry("", Policy.ALL_OR_NOTHING), {})
    assert not is_plain(QueueEntry("", warehouses=("main", "east")), {})
    assert not is_plain(QueueEntry(""), {"KIT": (("A", 1),)})
    assert not is_plain([QueueEntry("O1")], {})
