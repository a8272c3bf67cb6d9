"""The plain batch loop (`engine.service.batch_plain`) against the general one: for any chunk
of one-warehouse, kit-free orders under a line-by-line policy, `decide_plain` must write what
`batch._decide_chunk` (`model.attempt` + `ChunkWrites.reserve_lines`) writes, note the same
status changes and leave the same stock."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from engine.model import Actor, Policy
from engine.service import batch
from engine.service.batch_plain import decide_plain, is_plain
from engine.service.changes import StatusChanges
from engine.service.records import QueueEntry
from tests.unit.engine.chunks import assert_same_writes, by_pos, chunks, paired_writes

SKUS = st.sampled_from(["A", "B", "C"])
WAREHOUSES = st.sampled_from(["main", "east"])


stocks = st.dictionaries(
    st.tuples(SKUS, WAREHOUSES), st.tuples(st.integers(-3, 12), st.integers(0, 6)), max_size=6
)


def _general(rows: list[Any], entry: QueueEntry, stock: dict[Any, list[int]], writes: Any) -> Any:
    notes = StatusChanges()
    done = batch._decide_chunk(by_pos(rows), entry, stock, writes, {}, notes)
    return done, notes


@given(
    chunks(SKUS, WAREHOUSES),
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
    theirs, ours, their_stock, our_stock = paired_writes(dialect, actor, rowids, stock)
    done, notes = _general(rows, entry, their_stock, theirs)
    our_notes = StatusChanges()
    assert decide_plain(rows, entry, our_stock, ours, our_notes) == done  # type: ignore[arg-type]
    assert list(our_notes._changes.items()) == list(notes._changes.items())
    assert our_stock == their_stock
    assert_same_writes(ours, theirs, rows)


def test_only_the_plain_case_takes_the_plain_loop() -> None:
    assert is_plain(QueueEntry(""), {})
    assert not is_plain(QueueEntry("", Policy.ALL_OR_NOTHING), {})
    assert not is_plain(QueueEntry("", warehouses=("main", "east")), {})
    assert not is_plain(QueueEntry(""), {"KIT": (("A", 1),)})
    assert not is_plain([QueueEntry("O1")], {})
