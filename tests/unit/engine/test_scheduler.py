"""Schedule arithmetic (engine.scheduler): when a scheduled rule is due and for which slot.

No database: `due_slot(trigger, tz, last_slot, now)` is the whole decision the runner records.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest

from dsl.syntax import CronTrigger, DailyTrigger, EveryTrigger
from engine.run.scheduler import Stopper, ap_trigger, due_slot, next_fire, run_loop

NY = ZoneInfo("America/New_York")


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def fires(trigger: object, tz: ZoneInfo, start: datetime, count: int) -> list[datetime]:
    ap = ap_trigger(trigger, tz)  # type: ignore[arg-type]
    out: list[datetime] = []
    moment = start
    for _ in range(count):
        fire = next_fire(ap, moment)
        assert fire is not None
        out.append(fire)
        moment = fire
    return out


# ----------------------------------------------------------------------------- due or not


def test_a_rule_that_never_ran_is_due_at_once_for_the_latest_slot() -> None:
    every = EveryTrigger(30, "minutes")
    assert due_slot(every, UTC, None, at(2026, 1, 1, 9, 47)) == at(2026, 1, 1, 9, 30)
    daily = DailyTrigger(6, 0)
    assert due_slot(daily, UTC, None, at(2026, 1, 1, 5, 0)) == at(2025, 12, 31, 6, 0)


def test_a_never_run_schedule_with_no_recent_fire_runs_for_the_current_minute() -> None:
    feb29 = CronTrigger("0 0 29 2 *")  # last fired 2024-02-29: more than a year ago
    assert due_slot(feb29, UTC, None, at(2026, 6, 1, 12, 34, 56)) == at(2026, 6, 1, 12, 34)


def test_not_yet_due_then_due_on_the_slot() -> None:
    every = EveryTrigger(30, "minutes")
    last = at(2026, 1, 1, 9, 30)
    assert due_slot(every, UTC, last, at(2026, 1, 1, 9, 30, 1)) is None
    assert due_slot(every, UTC, last, at(2026, 1, 1, 9, 59, 59)) is None
    assert due_slot(every, UTC, last, at(2026, 1, 1, 10, 0)) == at(2026, 1, 1, 10, 0)
    assert due_slot(every, UTC, last, at(2026, 1, 1, 10, 17)) == at(2026, 1, 1, 10, 0)


def test_a_long_gap_collapses_into_one_run_for_the_latest_slot() -> None:
    every = EveryTrigger(30, "minutes")
    last = at(2026, 1, 1, 0, 0)
    now = last + timedelta(hours=10, minutes=12)
    assert due_slot(every, UTC, last, now) == at(2026, 1, 1, 10, 0)
    # ... and once that slot is recorded, nothing more is due until the next one.
    assert due_slot(every, UTC, at(2026, 1, 1, 10, 0), now) is None
    daily = DailyTrigger(6, 0)
    assert due_slot(daily, UTC, at(2026, 1, 1, 6, 0), at(2026, 3, 1, 12, 0)) == at(2026, 3, 1, 6)


@pytest.mark.parametrize(
    ("trigger", "last", "now", "latest"),
    [
        # The missed slots all lie within the search window that starts at the last run:
        # they used to be run one per tick (02:00, then 04:00, then 06:00 ...), not once.
        (EveryTrigger(2, "hours"), at(2026, 12, 2, 0), at(2026, 12, 2, 9, 30), at(2026, 12, 2, 8)),
        (EveryTrigger(3, "days"), at(2026, 1, 2), at(2026, 1, 12, 12), at(2026, 1, 11)),
        (CronTrigger("0 */3 * * *"), at(2026, 1, 1, 0), at(2026, 1, 1, 13, 5), at(2026, 1, 1, 12)),
        (CronTrigger("0 9 * * 1-5"), at(2026, 1, 5, 9), at(2026, 1, 9, 10), at(2026, 1, 9, 9)),
    ],
)
def test_slots_missed_within_a_search_window_collapse_into_the_latest(
    trigger: object, last: datetime, now: datetime, latest: datetime
) -> None:
    assert due_slot(trigger, UTC, last, now) == latest  # type: ignore[arg-type]
    assert due_slot(trigger, UTC, latest, now) is None  # type: ignore[arg-type]


def test_interval_slots_are_aligned_so_every_worker_computes_the_same() -> None:
    every = EveryTrigger(7, "minutes")
    a = due_slot(every, UTC, None, at(2026, 5, 5, 10, 3, 10))
    b = due_slot(every, UTC, None, at(2026, 5, 5, 10, 3, 50))
    assert a == b
    assert a is not None and a.second == 0
    hours = due_slot(EveryTrigger(2, "hours"), UTC, None, at(2026, 5, 5, 11, 30))
    assert hours == at(2026, 5, 5, 10, 0)


# -------------------------------------------------------------------------------- DST


def test_daily_at_follows_the_wall_clock_across_spring_forward_and_fall_back() -> None:
    six = DailyTrigger(6, 0)
    spring = fires(six, NY, at(2026, 3, 7, 0, 0), 3)
    assert [f.astimezone(NY).strftime("%m-%d %H:%M") for f in spring] == [
        "03-07 06:00",
        "03-08 06:00",
        "03-09 06:00",
    ]
    assert [f.hour for f in spring] == [11, 10, 10]  # UTC-5, then UTC-4
    fall = fires(six, NY, at(2026, 10, 31, 0, 0), 3)
    assert [f.astimezone(NY).strftime("%m-%d %H:%M") for f in fall] == [
        "10-31 06:00",
        "11-01 06:00",
        "11-02 06:00",
    ]
    assert [f.hour for f in fall] == [10, 11, 11]


def test_a_daily_time_repeated_by_fall_back_fires_once_that_day() -> None:
    half_past_one = DailyTrigger(1, 30)  # 01:30 happens twice in New York on 2026-11-01
    fall = fires(half_past_one, NY, at(2026, 10, 31, 12, 0), 2)
    assert fall == [at(2026, 11, 1, 5, 30), at(2026, 11, 2, 6, 30)]
    # due_slot agrees: after the 01:30 EDT run, 01:30 EST (06:30 UTC) is not a new slot.
    assert due_slot(half_past_one, NY, at(2026, 11, 1, 5, 30), at(2026, 11, 1, 7, 0)) is None


def test_a_daily_time_skipped_by_spring_forward_still_fires_that_day() -> None:
    half_past_two = DailyTrigger(2, 30)  # 02:30 does not exist in New York on 2026-03-08
    days = fires(half_past_two, NY, at(2026, 3, 7, 12, 0), 2)
    assert [f.astimezone(NY).date().isoformat() for f in days] == ["2026-03-08", "2026-03-09"]


def test_hourly_cron_runs_in_both_real_hours_of_fall_back() -> None:
    hourly = CronTrigger("0 * * * *")
    assert fires(hourly, NY, at(2026, 11, 1, 4, 30), 3) == [
        at(2026, 11, 1, 5),
        at(2026, 11, 1, 6),
        at(2026, 11, 1, 7),
    ]


def test_intervals_are_real_elapsed_time_across_dst() -> None:
    every = EveryTrigger(30, "minutes")
    times = fires(every, NY, at(2026, 11, 1, 5, 10), 4)
    assert [b - a for a, b in pairwise(times)] == [timedelta(minutes=30)] * 3


# ------------------------------------------------------------------------------------ cron


@pytest.mark.parametrize("expr", ["0 2 * * 0", "0 2 * * 7", "0 2 * * sun", "0 2 * * SUN"])
def test_cron_sunday_is_zero_and_seven(expr: str) -> None:
    (fire,) = fires(CronTrigger(expr), UTC, at(2026, 1, 1, 0, 0), 1)  # a Thursday
    assert fire == at(2026, 1, 4, 2, 0)
    assert fire.strftime("%A") == "Sunday"


def test_cron_weekday_range_means_monday_to_friday() -> None:
    days = fires(CronTrigger("30 8 * * 1-5"), UTC, at(2026, 1, 2, 9, 0), 5)  # Friday 09:00
    assert [d.strftime("%a %d") for d in days] == ["Mon 05", "Tue 06", "Wed 07", "Thu 08", "Fri 09"]


def test_cron_with_day_of_month_and_day_of_week_fires_on_either() -> None:
    # "the 1st of the month, and every Monday" (crontab(5)): January 2026 starts on a Thursday.
    days = fires(CronTrigger("0 9 1 * 1"), UTC, at(2025, 12, 31, 12, 0), 6)
    assert [d.strftime("%a %m-%d") for d in days] == [
        "Thu 01-01",
        "Mon 01-05",
        "Mon 01-12",
        "Mon 01-19",
        "Mon 01-26",
        "Sun 02-01",
    ]


def test_cron_in_the_files_time_zone() -> None:
    (fire,) = fires(CronTrigger("0 2 * * *"), NY, at(2026, 1, 1, 0, 0), 1)
    assert fire == at(2026, 1, 1, 7, 0)  # 02:00 EST


def test_fire_times_come_back_in_utc() -> None:
    for trigger in (DailyTrigger(6, 0), CronTrigger("15 * * * *"), EveryTrigger(1, "hours")):
        fire = next_fire(ap_trigger(trigger, NY), at(2026, 7, 1, 0, 0))
        assert fire is not None and fire.utcoffset() == timedelta(0)


# ------------------------------------------------------------------------------- run loop


def test_run_loop_finishes_the_current_tick_when_asked_to_stop() -> None:
    stopper = Stopper()
    ticks: list[str] = []

    def tick() -> datetime | None:
        ticks.append("start")
        if ticks.count("start") == 2:
            stopper.event.set()  # a signal arrives mid-tick
            time.sleep(0.05)
        ticks.append("end")
        return None

    worker = threading.Thread(target=run_loop, args=(tick, 0.01, lambda: at(2026, 1, 1), stopper))
    worker.start()
    worker.join(5)
    assert not worker.is_alive()
    assert ticks == ["start", "end", "start", "end"]


def test_run_loop_wakes_early_for_a_due_schedule() -> None:
    stopper = Stopper()
    now = at(2026, 1, 1, 12, 0)
    calls: list[float] = []

    def tick() -> datetime | None:
        calls.append(time.monotonic())
        if len(calls) == 2:
            stopper.event.set()
        return now  # a schedule due right now: no waiting for the 60 s tick

    started = time.monotonic()
    run_loop(tick, 60.0, lambda: now, stopper)
    assert len(calls) == 2
    assert time.monotonic() - started < 5
