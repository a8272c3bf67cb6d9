"""One tick takes every pending event (SPEC §8 `--once`), however many, on both backends:
IN lists are chunked, so PostgreSQL's 65,535-parameter limit is never reached."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from engine.run.runner import Runner
from engine.service import Service
from engine.store import Store, events
from rules.loader import load_ruleset
from tests.helpers import order


def test_a_tick_takes_every_pending_event_and_handles_big_deallocations(
    store: Store, clock, tmp_path: Path
) -> None:
    service = Service(store, clock)
    service.change_stock("MUG", "main", 6000, "set")
    service.add_orders([order(f"N{n:05d}", ("MUG", 1), minutes=n) for n in range(7000)])
    rules = tmp_path / "r.yaml"
    rules.write_text(
        'version: 1\nrules:\n  - name: all\n    rule: when new order then allocate, tag "seen"\n'
    )
    result = Runner(service, load_ruleset(rules), clock).tick()
    assert result.events == 7001  # 7000 orders + the stock change
    assert result.report.counts() == {"allocated": 6000, "could_not_allocate": 1000}
    with store.read() as conn:
        pending = dict(
            conn.execute(
                select(events.c.type, func.count())
                .where(events.c.processed.is_(False))
                .group_by(events.c.type)
            ).all()
        )
    # Every event it took is processed; what is pending is what the tick itself told.
    assert pending == {"allocation.changed": 7000}
    assert service.get_order("N06999").tags == frozenset({"seen"})

    report = service.deallocate(where=None)
    assert sum(1 for r in report.results if r["before"] == "allocated") == 6000
    assert service.list_inventory()[0]["allocated"] == 0
