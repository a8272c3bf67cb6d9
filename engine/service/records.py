"""What the operations pass around: the clock, progress callbacks, queue entries and reports."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from engine.model import Actor, Policy

Clock = Callable[[], datetime]


Progress = Callable[[int, int], None]  # (done, total)


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class QueueEntry:
    """One order to allocate, with the policy and the actor (rule) that put it there.

    `warehouses` is the `from` preference list (SPEC §12); None: the order's own warehouse.
    """

    order_id: str
    policy: Policy = Policy.LINES
    actor: Actor = field(default_factory=Actor)
    warehouses: tuple[str, ...] | None = None


@dataclass
class AllocationReport:
    """What an allocation run did: status changes in processing order, and what it skipped."""

    results: list[dict[str, str]] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    reserved_units: int = 0

    def counts(self) -> dict[str, int]:
        tally: dict[str, int] = defaultdict(int)
        for row in self.results:
            tally[row["after"]] += 1
        return dict(tally)

    def as_json(self) -> dict[str, Any]:
        return {"results": self.results, "skipped": self.skipped}
