"""The consistency invariants of a dibs database, checked after every concurrency test.

- every reservation's `covered` flag is what `model.coverage` says for its (sku, warehouse):
  on hand and the reservations in the order they were made (SPEC §3);
- every order's allocation status agrees with its reservations and their cover (SPEC §3): an
  awaiting order is `overallocated` exactly when one of its reservations is uncovered, else
  what `model.status_from_reservations` derives; a closed order holds nothing and is
  `unallocated`;
- `inventory.allocated` == Σ live reservations of that (sku, warehouse);
- `order_lines.reserved` == Σ reservations of that line, within 0..qty;
- allocation never made availability negative: the covered reservations of a stock row fit in
  its on hand (whatever is beyond is uncovered, which only a stock drop causes).
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select

from engine import model
from engine.model import Line, OrderStatus
from engine.store import Store, inventory, order_lines, orders, reservations


def violations(store: Store) -> list[str]:
    """Every broken invariant, one sentence each (empty when the database is consistent)."""
    with store.engine.connect() as plain:
        # One snapshot for every SELECT (READ COMMITTED would give each its own), so a check
        # taken while writers run sees one committed state.
        conn = (
            plain.execution_options(isolation_level="REPEATABLE READ")
            if store.is_postgres
            else plain
        )
        conn.begin()
        stock = {
            (r.sku, r.warehouse): (r.on_hand, r.allocated) for r in conn.execute(select(inventory))
        }
        held = conn.execute(select(reservations).order_by(reservations.c.seq)).all()
        lines = conn.execute(
            select(order_lines).order_by(order_lines.c.order_id, order_lines.c.line_no)
        ).all()
        state = {
            r.id: (r.status, r.allocation_status)
            for r in conn.execute(select(orders.c.id, orders.c.status, orders.c.allocation_status))
        }
        conn.rollback()
    problems: list[str] = []
    by_key: dict[tuple[str, str], list[tuple[int, int, bool, str]]] = defaultdict(list)
    per_line: dict[tuple[str, int], int] = defaultdict(int)
    uncovered: set[str] = set()
    for r in held:
        by_key[(r.sku, r.warehouse)].append((r.seq, r.qty, r.covered, r.order_id))
        per_line[(r.order_id, r.line_no)] += r.qty
        if not r.covered:
            uncovered.add(r.order_id)
    for key in sorted(set(stock) | set(by_key)):
        on_hand, allocated = stock.get(key, (0, 0))
        rows = by_key.get(key, [])
        total = sum(qty for _, qty, _, _ in rows)
        if allocated != total:
            problems.append(f"{key}: allocated {allocated} but live reservations hold {total}")
        expected = model.coverage(on_hand, (qty for _, qty, _, _ in rows))
        for (seq, _, flag, oid), want in zip(rows, expected, strict=True):
            if flag != want:
                problems.append(f"{key}: reservation {seq} of {oid} has covered={flag}, not {want}")
        covered = sum(qty for _, qty, flag, _ in rows if flag)
        if covered > max(on_hand, 0):
            problems.append(f"{key}: covered reservations hold {covered} > on hand {on_hand}")
    order_lines_of: dict[str, list[Line]] = defaultdict(list)
    for line in lines:
        got = per_line.get((line.order_id, line.line_no), 0)
        if line.reserved != got:
            problems.append(
                f"{line.order_id} line {line.line_no}: reserved {line.reserved}, reservations {got}"
            )
        if not 0 <= line.reserved <= line.qty:
            problems.append(
                f"{line.order_id} line {line.line_no}: reserved {line.reserved} of {line.qty}"
            )
        order_lines_of[line.order_id].append(Line(line.sku, line.qty, line.reserved))
    for oid, (status, allocation) in sorted(state.items()):
        if status != OrderStatus.AWAITING_FULFILLMENT:
            if any(x.reserved for x in order_lines_of[oid]) or allocation != "unallocated":
                problems.append(f"{oid}: {status} but {allocation} / still reserving")
            continue
        want = model.status_from_reservations(order_lines_of[oid], oid in uncovered, allocation)
        if want != allocation:
            problems.append(f"{oid}: status {allocation}, but its reservations say {want}")
    return problems


def assert_consistent(store: Store) -> None:
    found = violations(store)
    assert not found, f"{len(found)} invariant violations:\n" + "\n".join(found[:50])
