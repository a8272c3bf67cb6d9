"""What the operations pass around: the clock, progress callbacks, queue entries and reports."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from operator import itemgetter
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


#: How many changed orders a summary report keeps (the CLI shows them when there are at most 50).
SAMPLE = 51


@dataclass
class AllocationReport:
    """What an allocation run did: status changes in processing order, and what it skipped.

    With `detail` (the default) `results` holds one row per processed order. Without it, a
    summary whose memory does not grow with the number of orders (`dibs allocate --all` over
    millions): the count per status after, how many changed, and the first `SAMPLE` changes.
    """

    results: list[dict[str, str]] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    reserved_units: int = 0
    detail: bool = True
    _tally: dict[str, int] = field(default_factory=dict, init=False, repr=False)
    _changed: int = field(default=0, init=False, repr=False)
    _sample: list[dict[str, str]] = field(default_factory=list, init=False, repr=False)

    def add(self, rows: list[tuple[str, str, str]]) -> None:
        """Record processed orders, (id, before, after) each, in processing order."""
        if self.detail:
            self.results.extend({"id": i, "before": b, "after": a} for i, b, a in rows)
            return
        tally = self._tally
        for after, n in Counter(map(itemgetter(2), rows)).items():
            tally[after] = tally.get(after, 0) + n
        changed = [row for row in rows if row[1] != row[2]]
        self._changed += len(changed)
        room = SAMPLE - len(self._sample)
        if room > 0:
            self._sample.extend({"id": i, "before": b, "after": a} for i, b, a in changed[:room])

    @property
    def processed(self) -> int:
        """How many orders the run processed."""
        return len(self.results) if self.detail else sum(self._tally.values())

    def changed(self) -> tuple[int, list[dict[str, str]]]:
        """How many orders changed status, and their rows (a summary: the first `SAMPLE`)."""
        if self.detail:
            rows = [r for r in self.results if r["before"] != r["after"]]
            return len(rows), rows
        return self._changed, self._sample

    def counts(self) -> dict[str, int]:
        if not self.detail:
            return dict(self._tally)
        tally: dict[str, int] = defaultdict(int)
        for row in self.results:
            tally[row["after"]] += 1
        return dict(tally)

    def as_json(self) -> dict[str, Any]:
        return {"results": self.results, "skipped": self.skipped}
