"""Allocation across warehouses and with kits (SPEC §12): the decision `attempt_routed`.

Kept beside `engine.model` (which holds `attempt`, the one-warehouse decision of the hot path)
so that each stays small; pure like it, standard library only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from engine.model import (
    AllocationStatus,
    Held,
    Kits,
    Length,
    Order,
    Policy,
    Routes,
    StockKey,
    parts_of,
    plan_trim,
    released_stock,
    status_of,
)


def attempt_routed(
    lines: Sequence[tuple[str, int, int]],
    warehouses: Sequence[str],
    stock: dict[StockKey, list[int]],
    policy: Policy,
    kits: Kits,
    commit: bool = True,
) -> tuple[Routes, str]:
    """`attempt` over a preference list of warehouses and with kit lines (SPEC §12).

    The first warehouse that completes every line takes the whole order. Otherwise `lines`:
    each line from the first warehouse that completes it; `units`: unit by unit along the list;
    `all_or_nothing`: as `lines`, and only if every line is completed that way. A kit line's
    units are kit units: each reserves all of its components in one warehouse, never some.
    Returns per line its [(warehouse, line units)] and the new status; with one warehouse and
    no kits it decides exactly what `attempt` does.
    """
    return route_needs(needs_of(lines, kits), lines, warehouses, stock, policy, commit)


#: A line's parts (a kit's components, or its own SKU once) and the line units it misses.
Need = tuple[tuple[tuple[str, int], ...], int]
_ALLOCATED = str(AllocationStatus.ALLOCATED)


def needs_of(lines: Sequence[tuple[str, int, int]], kits: Kits) -> list[Need]:
    """Each line's parts and missing units, as `route_needs` takes them."""
    return [(kits.get(sku) or ((sku, 1),), qty - reserved) for sku, qty, reserved in lines]


def route_needs(
    needs: Sequence[Need],
    lines: Sequence[tuple[str, int, int]],
    warehouses: Sequence[str],
    stock: dict[StockKey, list[int]],
    policy: Policy,
    commit: bool = True,
) -> tuple[Routes, str]:
    """`attempt_routed` of lines whose needs (`needs_of`) are known."""
    found = first_complete(needs, warehouses, stock)
    if found is None:
        return route_rest(needs, lines, warehouses, stock, policy, commit)
    wh, demand = found  # the fewest split shipments first: one warehouse for everything
    if commit:
        for sku, units in demand.items():
            stock[(sku, wh)][1] += units
    return [[(wh, missing)] if missing > 0 else [] for _, missing in needs], _ALLOCATED


def first_complete(
    needs: Sequence[Need], warehouses: Sequence[str], stock: Mapping[StockKey, list[int]]
) -> tuple[str, dict[str, int]] | None:
    """The first warehouse that alone can give every line all of its missing units, and the
    units that takes per SKU (a kit's components summed with the order's other lines); None
    when none can. The hot check of a `from` list: the units per SKU are summed once for all
    warehouses, and each warehouse stops at the first SKU it lacks (the same answer as a
    running total per part: a kit's quantities are positive, `kit_problem`)."""
    demand: dict[str, int] = {}
    for parts, missing in needs:
        if missing > 0:
            for sku, qty in parts:
                demand[sku] = demand.get(sku, 0) + missing * qty
    get = stock.get
    for wh in warehouses:
        for sku, units in demand.items():
            entry = get((sku, wh))
            if entry is None or entry[0] - entry[1] < units:
                break
        else:
            return wh, demand
    return None


def route_rest(
    needs: Sequence[Need],
    lines: Sequence[tuple[str, int, int]],
    warehouses: Sequence[str],
    stock: dict[StockKey, list[int]],
    policy: Policy,
    commit: bool = True,
) -> tuple[Routes, str]:
    """`route_needs` of an order that no one warehouse completes (`first_complete`): line by
    line along the list, as the policy says."""
    taken: dict[StockKey, int] = {}
    routes: Routes = []
    units_policy, complete, any_reserved = policy is Policy.UNITS, True, False
    for (parts, missing), (_, _, reserved) in zip(needs, lines, strict=True):
        routed: list[tuple[str, int]] = []
        routes.append(routed)
        wanted = missing
        for wh in warehouses if missing > 0 else ():
            can = _capacity(parts, wh, stock, taken)
            if can > 0 and (units_policy or can >= missing):
                missing -= _take(parts, wh, min(can, missing), taken, routed)
                if missing <= 0:
                    break
        if missing > 0:
            complete = False
        if reserved + wanted - missing:  # reserved before, plus granted now
            any_reserved = True
    if policy is Policy.ALL_OR_NOTHING and not complete:
        routes, taken = [[] for _ in lines], {}
        any_reserved = any(reserved for _, _, reserved in lines)
    if commit:
        for key, units in taken.items():
            stock[key][1] += units
    status = status_of(
        complete=complete,
        any_reserved=any_reserved,
        any_uncovered=False,
        tried=True,
        previous=AllocationStatus.UNALLOCATED,
    )
    return routes, str(status)


def _capacity(
    parts: tuple[tuple[str, int], ...],
    wh: str,
    stock: Mapping[StockKey, list[int]],
    taken: Mapping[StockKey, int],
) -> int:
    """Line units `wh` can still give (whole kit units for a kit); 0 when none."""
    best = -1
    for sku, qty in parts:
        key = (sku, wh)
        entry = stock.get(key)
        if entry is None:
            return 0
        units = (entry[0] - entry[1] - taken.get(key, 0)) // qty
        if units <= 0:
            return 0
        if best < 0 or units < best:
            best = units
    return best


def _take(
    parts: tuple[tuple[str, int], ...],
    wh: str,
    units: int,
    taken: dict[StockKey, int],
    routed: list[tuple[str, int]],
) -> int:
    for sku, qty in parts:
        taken[(sku, wh)] = taken.get((sku, wh), 0) + units * qty
    routed.append((wh, units))
    return units


def plan_line_trim(
    held_newest_first: Sequence[Held], parts: Sequence[tuple[str, int]], units: int
) -> tuple[list[tuple[int, int]], dict[StockKey, int]]:
    """Give back `units` units of one line: for each of its parts (a kit's components, or its
    own SKU) `units × qty`, newest reservation first (`plan_trim`). Returns the (seq, qty left)
    trims and the units each (sku, warehouse) gets back."""
    trims: list[tuple[int, int]] = []
    given: dict[StockKey, int] = {}
    by_seq = {h.seq: h for h in held_newest_first}
    for sku, qty in parts:
        mine = [(h.seq, h.qty) for h in held_newest_first if h.sku == sku]
        for seq, left in plan_trim(mine, units * qty):
            held = by_seq[seq]
            trims.append((seq, left))
            key = (held.sku, held.warehouse)
            given[key] = given.get(key, 0) + held.qty - left
    return trims, given


def shipped_stock(orders: Iterable[Order], held: Iterable[Held], kits: Kits) -> dict[StockKey, int]:
    """Units that shipping these orders takes off the shelf, per (sku, warehouse) (SPEC §12).

    Each reserved unit comes from its reservation's (sku, warehouse); every other unit from the
    order's own warehouse, a kit's as its components. `held` are the orders' reservations.
    """
    out = released_stock(held)
    for order in orders:
        for line in order.lines:
            unreserved = line.qty - line.reserved
            for sku, qty in parts_of(line.sku, kits) if unreserved > 0 else ():
                key = (sku, order.warehouse)
                out[key] = out.get(key, 0) + unreserved * qty
    return out


def kit_problem(kit: str, components: Sequence[tuple[str, int]], kits: Kits) -> str | None:
    """Why `kit` cannot be made of `components` given the other kits, or None (SPEC §12).

    A kit contains neither itself nor another kit, is no other kit's component, and lists
    each component once with a positive quantity.
    """
    if not components:
        return f"kit {kit!r} needs at least one component"
    for named in (kit, *(sku for sku, _ in components)):
        if not named.strip():
            return f"kit {kit!r}: a SKU cannot be blank"
        if len(named) > Length.SKU:
            return f"kit {kit!r}: SKU {named[:20]!r}… is longer than {Length.SKU} characters"
    seen: set[str] = set()
    for sku, qty in components:
        if sku == kit:
            return f"kit {kit!r} cannot contain itself"
        if sku in kits and sku != kit:
            return f"kit {kit!r} cannot contain {sku!r}: it is a kit, and kits do not nest"
        if sku in seen:
            return f"kit {kit!r} lists component {sku!r} twice"
        if qty <= 0:
            return f"kit {kit!r}: component {sku!r} needs a positive quantity, got {qty}"
        seen.add(sku)
    users = sorted(k for k, parts in kits.items() if k != kit and kit in dict(parts))
    if users:
        return (
            f"{kit!r} is a component of kit {users[0]!r}, so it cannot be a kit: kits do not nest"
        )
    return None
