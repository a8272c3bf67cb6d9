"""Bulk actions of the Orders page: what an action would change (a dry run), then doing it.

Each action runs in one transaction over the service's use cases. The dry run is the very same
code in a transaction that is rolled back (`Service.run(work, dry_run=True)`), so the preview
shows what applying would do on the same data, by construction. The comparison takes a
snapshot before and after: the selected orders, the stock they use, and every overallocated
order (a change of stock moves cover between orders no one selected; SPEC §3).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement

from engine.errors import DibsError, StateConflict, plural
from engine.model import Actor, Policy
from engine.service import Service, Tx, allocation, overview, release, splits

ACTIONS = ("allocate", "deallocate", "reallocate", "split", "ship", "cancel")
VERBS = {
    "allocate": "Allocate",
    "deallocate": "Deallocate",
    "reallocate": "Reallocate",
    "split": "Split",
    "ship": "Ship",
    "cancel": "Cancel",
}
#: Most orders an action over named ids takes at once (allocate and deallocate of "every
#: matching order" select in SQL instead and have no limit).
MAX_IDS = 5000
#: Rows of a preview shown in full (the transition counts cover all of them).
SHOWN_ROWS = 200


@dataclass
class Selection:
    """The orders an action applies to: named ids, or the open orders a condition picks."""

    ids: list[str]
    where: ColumnElement[bool] | None = None


@dataclass
class Outcome:
    """What an action did (or, in a dry run, would do)."""

    action: str
    dry_run: bool
    rows: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    others: list[dict[str, str]] = field(default_factory=list)
    stock: list[dict[str, Any]] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def changed(self) -> list[dict[str, Any]]:
        return [r for r in self.rows if r["changed"]]

    @property
    def nothing_to_do(self) -> bool:
        """Whether confirming would change nothing: every order skipped, or staying as it is
        (a reallocate that ends the same still re-queues its orders, so it only counts when
        every order was skipped)."""
        if self.error or self.changed or self.stock or self.others or self.created:
            return False
        return self.action != "reallocate" or len(self.skipped) >= len(self.rows)

    def why_nothing(self) -> str:
        """Why confirming would change nothing (when `nothing_to_do`)."""
        if len(self.skipped) >= len(self.rows):
            return "the order is skipped" if len(self.rows) == 1 else "every order is skipped"
        if self.skipped:
            return "each order is skipped or would stay as it is"
        # not "already as asked": an allocate short of stock stays "could not allocate"
        one = len(self.rows) == 1
        return "the order would stay as it is" if one else "every order would stay as it is"

    @property
    def transitions(self) -> list[tuple[str, str, int]]:
        tally = Counter((r["before"], r["after"]) for r in self.rows)
        return [(b, a, n) for (b, a), n in sorted(tally.items(), key=lambda x: -x[1])]

    @property
    def units_delta(self) -> int:
        return sum(r["reserved_after"] - r["reserved_before"] for r in self.rows)

    def headline(self) -> str:
        verb = VERBS[self.action]
        if self.error:
            return f"{verb}: refused — {self.error}"
        changed = len(self.changed)
        units = self.units_delta
        moved = f"{plural(abs(units), 'unit')} {'reserved' if units > 0 else 'released'}"
        if not units:
            moved = "no units reserved or released"
        would = "would change" if self.dry_run else "changed"
        text = f"{verb}: {plural(len(self.rows), 'order')}, {changed} {would}; {moved}"
        if self.skipped:
            text += f"; {len(self.skipped)} skipped"
        if self.others:
            others = len(self.others)
            text += f"; {plural(others, 'other order')} {'changes' if others == 1 else 'change'}"
            text += " status"
        return text


Work = Callable[[Tx, Selection, Policy, Actor], tuple[list[dict[str, str]], list[str]]]


def _allocate(tx: Tx, sel: Selection, policy: Policy, actor: Actor) -> Any:
    if sel.where is not None:
        report = allocation.allocate(tx, None, sel.where, [], policy, actor)
    else:
        report = allocation.allocate(tx, sel.ids, None, [], policy, actor)
    return report.skipped, []


def _deallocate(tx: Tx, sel: Selection, policy: Policy, actor: Actor) -> Any:
    if sel.where is not None:
        report = allocation.deallocate(tx, None, sel.where, actor)
    else:
        report = allocation.deallocate(tx, sel.ids, None, actor)
    return report.skipped, []


def _reallocate(tx: Tx, sel: Selection, policy: Policy, actor: Actor) -> Any:
    return allocation.reallocate(tx, sel.ids, policy, actor).skipped, []


def _split(tx: Tx, sel: Selection, policy: Policy, actor: Actor) -> Any:
    skipped, created = [], []
    for oid in sel.ids:
        try:  # split checks before it writes: a refusal leaves the transaction clean
            _, child = splits.split(tx, oid, actor)
        except StateConflict as exc:
            skipped.append({"id": oid, "reason": str(exc)})
        else:
            created.append(child)
    return skipped, created


def _closing(how: str) -> Work:
    def work(tx: Tx, sel: Selection, policy: Policy, actor: Actor) -> Any:
        states = overview.snapshot(tx.conn, sel.ids, set()).orders
        open_ids = [oid for oid in sel.ids if states.get(oid, ("",))[0] == overview.OPEN]
        # An id no order has (a form from another database, a hand-made request) is skipped
        # by name: it was dropped silently and shown as "(new) → (new)".
        skipped = [
            {
                "id": oid,
                "reason": f"the order is {states[oid][0]}" if oid in states else "no such order",
            }
            for oid in sel.ids
            if oid not in open_ids
        ]
        if open_ids:
            release.finish(tx, open_ids, how, actor)
        return skipped, []

    return work


WORK: dict[str, Work] = {
    "allocate": _allocate,
    "deallocate": _deallocate,
    "reallocate": _reallocate,
    "split": _split,
    "ship": _closing("ship"),
    "cancel": _closing("cancel"),
}


def perform(
    service: Service,
    action: str,
    selection: Selection,
    policy: Policy,
    actor: Actor,
    dry_run: bool,
) -> Outcome:
    """Run `action` over the selection in one transaction (rolled back when `dry_run`)."""
    if action not in WORK:
        raise ValueError(action)
    outcome = Outcome(action, dry_run)
    if len(selection.ids) > MAX_IDS and (selection.where is None or action not in BY_WHERE):
        outcome.error = (
            f"{len(selection.ids)} orders are more than {MAX_IDS} at once for {action}; "
            "narrow the filter"
        )
        return outcome

    def work(tx: Tx) -> Outcome:
        keys = overview.stock_keys(tx.conn, selection.ids)
        before = overview.snapshot(tx.conn, selection.ids, keys)
        outcome.skipped, outcome.created = WORK[action](tx, selection, policy, actor)
        after = overview.snapshot(tx.conn, [*selection.ids, *outcome.created], keys)
        moved = sorted((before.overallocated ^ after.overallocated) - set(selection.ids))
        _compare(outcome, selection.ids, before, after)
        moved_now = overview.snapshot(tx.conn, moved, set()).orders
        outcome.others = [
            {
                "id": oid,
                "before": "overallocated" if oid in before.overallocated else "covered",
                "after": moved_now[oid][1] if oid in moved_now else "",
            }
            for oid in moved
        ]
        return outcome

    try:
        return service.run(work, dry_run=dry_run)
    except DibsError as exc:  # refused whole (an order changed meanwhile): nothing written
        return Outcome(action, dry_run, error=str(exc))


BY_WHERE = ("allocate", "deallocate")


def _compare(
    outcome: Outcome, ids: Sequence[str], before: overview.Snapshot, after: overview.Snapshot
) -> None:
    skipped = {s["id"] for s in outcome.skipped}
    for oid in [*ids, *outcome.created]:
        if oid not in before.orders and oid not in outcome.created:
            continue  # no such order: listed among the skipped, with that reason
        was = before.orders.get(oid, ("(new)", "(new)", 0))
        now = after.orders.get(oid, was)
        shown_before = was[1] if was[0] == overview.OPEN or was[0] == "(new)" else was[0]
        shown_after = now[1] if now[0] == overview.OPEN else now[0]
        outcome.rows.append(
            {
                "id": oid,
                "before": shown_before,
                "after": shown_after,
                "reserved_before": was[2],
                "reserved_after": now[2],
                "changed": was != now,
                "new": oid in outcome.created,
                "skipped": oid in skipped,
            }
        )
    for key in sorted(set(before.stock) | set(after.stock)):
        b, a = before.stock.get(key, (0, 0)), after.stock.get(key, (0, 0))
        if a != b:
            outcome.stock.append(
                {
                    "sku": key[0],
                    "warehouse": key[1],
                    "on_hand_before": b[0],
                    "on_hand_after": a[0],
                    "available_before": b[0] - b[1],
                    "available_after": a[0] - a[1],
                }
            )
