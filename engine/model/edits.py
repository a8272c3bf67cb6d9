"""Edit and split decisions (SPEC §4): which old line each new line continues, what it gives
back, and what a split keeps and moves. Pure, like the rest of engine.model."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from engine.model import Line


@dataclass(frozen=True)
class EditPlan:
    """What an edit does: the new lines, and how many reserved units each old line gives back.

    `kept_from[i]` is the index of the old line that new line `i` continues (same SKU), or None
    for a line that is new. `release[j]` is how many reserved units old line `j` releases.
    """

    lines: tuple[Line, ...]
    kept_from: tuple[int | None, ...]
    release: tuple[int, ...]


def plan_edit(old: Sequence[Line], new: Sequence[tuple[str, int]]) -> EditPlan:
    """Match new lines to old ones by SKU (the n-th line of a SKU continues the n-th old one).

    Lowering a reserved line trims its reservation; raising it leaves the extra units
    unreserved; a line whose SKU changed or disappeared releases everything it held.
    """
    unmatched: dict[str, list[int]] = {}
    for index, line in enumerate(old):
        unmatched.setdefault(line.sku, []).append(index)
    release = [line.reserved for line in old]
    lines: list[Line] = []
    kept_from: list[int | None] = []
    for sku, qty in new:
        candidates = unmatched.get(sku)
        if candidates:
            index = candidates.pop(0)
            keep = min(old[index].reserved, qty)
            release[index] = old[index].reserved - keep
            lines.append(Line(sku, qty, keep))
            kept_from.append(index)
        else:
            lines.append(Line(sku, qty, 0))
            kept_from.append(None)
    return EditPlan(tuple(lines), tuple(kept_from), tuple(release))


@dataclass(frozen=True)
class SplitPlan:
    """What a split does: the lines the original keeps (its reserved units), the lines of the
    new order (the rest), and `kept_numbers[i]`, the old line number (from 1) of kept line
    `i`: the kept lines are renumbered 1, 2, … in their original order, and their
    reservations follow them."""

    kept: tuple[Line, ...]
    moved: tuple[Line, ...]
    kept_numbers: tuple[int, ...]


def plan_split(lines: Sequence[Line]) -> tuple[tuple[Line, ...], tuple[Line, ...]]:
    """Split into (what the original keeps: its reserved units, the new order: the rest).

    Raises ValueError when there is nothing to split: nothing reserved or nothing missing.
    """
    plan = split_plan(lines)
    return plan.kept, plan.moved


def split_plan(lines: Sequence[Line]) -> SplitPlan:
    """`plan_split` with the renumbering of the kept lines; the same ValueError."""
    refusal = split_refusal(
        any(line.reserved for line in lines), any(line.missing for line in lines)
    )
    if refusal is not None:
        raise ValueError(refusal)
    kept = tuple(Line(line.sku, line.reserved, line.reserved) for line in lines if line.reserved)
    moved = tuple(Line(line.sku, line.missing, 0) for line in lines if line.missing > 0)
    numbers = tuple(n for n, line in enumerate(lines, start=1) if line.reserved)
    return SplitPlan(kept, moved, numbers)


def split_refusal(any_reserved: bool, any_missing: bool) -> str | None:
    """Why an order cannot be split, or None when it can: `any_reserved`, whether a line of it
    holds reserved units; `any_missing`, whether a line's reserved units differ from its qty."""
    if not any_reserved:
        return "nothing is reserved, so there is nothing to keep apart"
    if not any_missing:
        return "every unit is reserved, so there is nothing to move"
    return None


def split_id(order_id: str, taken: Iterable[str]) -> str:
    """The first free `<id>-N` for a split-off order."""
    used = set(taken)
    n = 1
    while f"{order_id}-{n}" in used:
        n += 1
    return f"{order_id}-{n}"
