"""The `from`-list batch loop (`engine.service.batch_routed`) against the general one: for any
chunk of orders sharing one policy, actor and `from` list, with or without kit lines,
`decide_routed` must write what `batch._decide_chunk` (`routing.attempt_routed` +
`ChunkWrites.reserve_routed`) writes, note the same status changes and leave the same stock;
and the routing model must decide as `attempt_routed` always did (`first_complete` sums the
units per SKU once instead of per warehouse)."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from engine.model import Actor, Policy, StockKey, routing
from engine.service import batch
from engine.service.batch_routed import decide_routed, is_routed, routed_keys
from engine.service.changes import StatusChanges
from engine.service.records import QueueEntry
from tests.unit.engine.chunks import assert_same_writes, by_pos, chunks, paired_writes

KITS = {"KA": (("A", 1), ("B", 2)), "KC": (("C", 3),)}
SKUS = st.sampled_from(["A", "B", "C", "KA", "KC"])
WAREHOUSES = ("main", "east", "west")
FROM = st.sampled_from([("main",), ("main", "east"), ("east", "main"), WAREHOUSES])


stocks = st.dictionaries(
    st.tuples(st.sampled_from(["A", "B", "C"]), st.sampled_from(WAREHOUSES)),
    st.tuples(st.integers(-3, 12), st.integers(0, 6)),
    max_size=9,
)


@given(
    chunks(SKUS, st.sampled_from(WAREHOUSES)),
    stocks,
    FROM,
    st.sampled_from(list(Policy)),
    st.sampled_from(["sqlite", "postgresql"]),
    st.sampled_from([Actor(), Actor("rules", "vip", "set1")]),
    st.booleans(),
    st.booleans(),
)
def test_routed_loop_writes_what_the_model_decides(
    rows: list[Any],
    stock: dict[Any, tuple[int, int]],
    warehouses: tuple[str, ...],
    policy: Policy,
    dialect: str,
    actor: Actor,
    with_kits: bool,
    rowids: bool,
) -> None:
    kits = KITS if with_kits else {}
    entry = QueueEntry("", policy, actor, warehouses)
    assert is_routed(entry)
    theirs, ours, their_stock, our_stock = paired_writes(dialect, actor, rowids, stock)
    notes, our_notes = StatusChanges(), StatusChanges()
    done = batch._decide_chunk(by_pos(rows), entry, their_stock, theirs, kits, notes)
    assert decide_routed(rows, entry, our_stock, ours, kits, our_notes) == done  # type: ignore[arg-type]
    assert list(our_notes._changes.items()) == list(notes._changes.items())
    assert our_stock == their_stock
    assert_same_writes(ours, theirs, rows)
    assert routed_keys(rows, entry, kits) == batch._stock_keys(by_pos(rows), entry, kits)  # type: ignore[arg-type]


def _reference(
    lines: list[tuple[str, int, int]],
    warehouses: tuple[str, ...],
    stock: dict[StockKey, list[int]],
) -> str | None:
    """The first warehouse that completes every line, checked as the model did before: a
    running total per (sku, warehouse), warehouse by warehouse."""
    for wh in warehouses:
        want: dict[StockKey, int] = {}
        ok = True
        for sku, qty, reserved in lines:
            for part, per in KITS.get(sku) or ((sku, 1),):
                if qty - reserved <= 0:
                    continue
                key = (part, wh)
                want[key] = want.get(key, 0) + (qty - reserved) * per
                entry = stock.get(key)
                ok = ok and entry is not None and entry[0] - entry[1] >= want[key]
        if ok:
            return wh
    return None


@given(
    st.lists(st.tuples(SKUS, st.integers(0, 5), st.integers(0, 3)), min_size=1, max_size=4),
    stocks,
    FROM,
)
def test_first_complete_finds_the_warehouse_the_running_totals_find(
    lines: list[tuple[str, int, int]], stock: dict[Any, tuple[int, int]], warehouses: Any
) -> None:
    current = {key: list(value) for key, value in stock.items()}
    found = routing.first_complete(routing.needs_of(lines, KITS), warehouses, current)
    assert (found[0] if found else None) == _reference(lines, warehouses, current)
    if found:  # and the units it takes are every missing unit of every part
        wanted: dict[str, int] = {}
        for sku, qty, reserved in lines:
            for part, per in KITS.get(sku) or ((sku, 1),):
                if qty > reserved:
                    wanted[part] = wanted.get(part, 0) + (qty - reserved) * per
        assert found[1] == wanted


def test_only_a_shared_from_list_takes_the_routed_loop() -> None:
    assert is_routed(QueueEntry("", warehouses=("main", "east")))
    assert not is_routed(QueueEntry(""))
    assert not is_routed([QueueEntry("O1", warehouses=("main",))])
