"""Scheduled rules through the runner on both backends: what `rule_runs` records per tick.

`rule_runs` holds one row per (rule, slot) that ran; it is what an operator reads to see when a
schedule last fired, and the unique key that keeps several workers from running a slot twice.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select

from engine.run.runner import Runner
from engine.service import Service
from engine.store import Store, rule_runs
from rules.loader import load_ruleset
from rules.ruleset import RuleSet
from tests.conftest import FakeClock
from tests.helpers import order


def ruleset(tmp_path: Path, text: str, timezone: str = "UTC") -> RuleSet:
    path = tmp_path / "rules.yaml"
    path.write_text(
        json.dumps({"version": 1, "timezone": timezone, "rules": [{"name": "sched", "rule": text}]})
    )
    return load_ruleset(path)


def runs(store: Store) -> list[tuple[str, datetime]]:
    with store.read() as conn:
        rows = conn.execute(
            select(rule_runs.c.rule, rule_runs.c.slot).order_by(rule_runs.c.slot)
        ).all()
    return [(r, s if s.tzinfo else s.replace(tzinfo=UTC)) for r, s in rows]


def test_a_ten_hour_gap_fires_once_for_the_latest_slot(store: Store, tmp_path: Path) -> None:
    clock = FakeClock(datetime(2026, 4, 1, 8, 0, tzinfo=UTC))
    svc = Service(store, clock)
    rs = ruleset(tmp_path, 'every 30 minutes then tag "swept"')
    svc.add_orders([order("A1", ("MUG", 1))])
    runner = Runner(svc, rs, clock)
    runner.tick()
    assert runs(store) == [("sched", datetime(2026, 4, 1, 8, 0, tzinfo=UTC))]
    clock.advance(hours=10, minutes=10)  # nothing ran for 10 hours: 20 slots missed
    result = runner.tick()
    assert result.schedules == [("sched", datetime(2026, 4, 1, 18, 0, tzinfo=UTC))]
    assert runs(store) == [
        ("sched", datetime(2026, 4, 1, 8, 0, tzinfo=UTC)),
        ("sched", datetime(2026, 4, 1, 18, 0, tzinfo=UTC)),
    ]
    clock.advance(minutes=5)
    assert runner.tick().schedules == []
    assert len(runs(store)) == 2


def test_a_slot_runs_once_even_when_two_runners_tick_for_it(store: Store, tmp_path: Path) -> None:
    clock = FakeClock(datetime(2026, 4, 1, 8, 0, tzinfo=UTC))
    svc = Service(store, clock)
    rs = ruleset(tmp_path, 'every 5 minutes then tag "swept"')
    first, second = Runner(svc, rs, clock), Runner(svc, rs, clock)
    assert len(first.tick().schedules) == 1
    assert second.tick().schedules == []
    clock.advance(minutes=5)
    assert len(second.tick().schedules) == 1
    assert first.tick().schedules == []
    assert [s for _, s in runs(store)] == [
        datetime(2026, 4, 1, 8, 0, tzinfo=UTC),
        datetime(2026, 4, 1, 8, 5, tzinfo=UTC),
    ]


def test_daily_at_across_the_fall_back_in_the_files_zone(store: Store, tmp_path: Path) -> None:
    # New York falls back on 2026-11-01 at 02:00 EDT: 01:30 happens twice that night.
    clock = FakeClock(datetime(2026, 10, 31, 12, 0, tzinfo=UTC))
    svc = Service(store, clock)
    rs = ruleset(tmp_path, 'daily at 01:30 then tag "nightly"', timezone="America/New_York")
    runner = Runner(svc, rs, clock)
    runner.tick()  # never ran: 2026-10-31 01:30 EDT
    for _ in range(4 * 24 * 3):  # three days, a tick every 15 minutes
        clock.advance(minutes=15)
        runner.tick()
    assert [s for _, s in runs(store)] == [
        datetime(2026, 10, 31, 5, 30, tzinfo=UTC),  # 01:30 EDT
        datetime(2026, 11, 1, 5, 30, tzinfo=UTC),  # 01:30 EDT, not again at 01:30 EST
        datetime(2026, 11, 2, 6, 30, tzinfo=UTC),  # 01:30 EST
        datetime(2026, 11, 3, 6, 30, tzinfo=UTC),
    ]


def test_daily_at_across_the_spring_forward(store: Store, tmp_path: Path) -> None:
    clock = FakeClock(datetime(2026, 3, 7, 12, 0, tzinfo=UTC))
    svc = Service(store, clock)
    rs = ruleset(tmp_path, 'daily at 06:00 then tag "morning"', timezone="America/New_York")
    runner = Runner(svc, rs, clock)
    for _ in range(2 * 24):  # two days, hourly ticks
        runner.tick()
        clock.advance(hours=1)
    local = [s.astimezone(ZoneInfo("America/New_York")) for _, s in runs(store)]
    assert [t.strftime("%m-%d %H:%M") for t in local] == [
        "03-07 06:00",
        "03-08 06:00",
        "03-09 06:00",
    ]


def test_cron_day_of_month_or_day_of_week(store: Store, tmp_path: Path) -> None:
    # "09:00 on the 1st, and every Monday": January 2026 starts on a Thursday.
    clock = FakeClock(datetime(2026, 1, 1, 8, 0, tzinfo=UTC))
    svc = Service(store, clock)
    rs = ruleset(tmp_path, 'cron "0 9 1 * mon" then tag "report"')
    runner = Runner(svc, rs, clock)
    runner.tick()  # never ran: records the latest past slot (a Monday in December)
    for _ in range(16 * 24):  # to 2026-01-17, hourly
        clock.advance(hours=1)
        runner.tick()
    fired = [s.strftime("%a %m-%d %H:%M") for _, s in runs(store)][1:]
    assert fired == ["Thu 01-01 09:00", "Mon 01-05 09:00", "Mon 01-12 09:00"]


def test_a_ticking_runner_records_every_slot_of_a_regular_schedule(
    store: Store, tmp_path: Path
) -> None:
    clock = FakeClock(datetime(2026, 4, 1, 8, 0, 30, tzinfo=UTC))
    svc = Service(store, clock)
    rs = ruleset(tmp_path, 'every 1 minute then tag "seen"')
    runner = Runner(svc, rs, clock)
    for _ in range(30):  # a tick every 20 s, the last at 08:10:10
        runner.tick()
        clock.advance(seconds=20)
    slots = [s for _, s in runs(store)]
    start = datetime(2026, 4, 1, 8, 0, tzinfo=UTC)
    assert slots == [start + timedelta(minutes=i) for i in range(11)]
