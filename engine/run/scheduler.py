"""Schedules and the `dibs run` loop: the only module that imports APScheduler (3.11.x).

APScheduler's triggers do the calendar arithmetic (time zones, DST, month lengths). Its job
stores and executors are deliberately not used: several `dibs run` processes sharing one 3.x job
store run each job several times (GUIDE), so the database is the judge instead. A scheduled rule
runs in a tick when its next fire time after its last recorded slot is not in the future, and
the tick records the slot in `rule_runs` under a unique (rule, slot) key: whoever fails to insert
it does nothing. A schedule missed while nothing ran fires once, for the latest slot.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, tzinfo
from types import FrameType

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.combining import OrTrigger
from apscheduler.triggers.cron import CronTrigger as APCron
from apscheduler.triggers.interval import IntervalTrigger

from dsl.syntax import CronTrigger, DailyTrigger, EveryTrigger, Trigger
from rules.cron import parse_cron

log = logging.getLogger("dibs.run")

_DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
#: Interval schedules are aligned to this instant, so every worker computes the same slots.
_EPOCH = datetime(2000, 1, 1)


def _field(values: frozenset[int] | None) -> str | None:
    return None if values is None else ",".join(str(v) for v in sorted(values))


def ap_trigger(trigger: Trigger, tz: tzinfo) -> BaseTrigger:
    """The APScheduler trigger for a rule's schedule, in the rule file's time zone.

    Cron day-of-week numbers mean what they mean in crontab (0 and 7 are Sunday), unlike
    `CronTrigger.from_crontab`, whose 0 is Monday; and, as in cron, a restricted day of month
    and a restricted day of week fire on either (APScheduler alone would require both).
    """
    if isinstance(trigger, EveryTrigger):
        step = timedelta(**{trigger.unit: trigger.amount})
        return IntervalTrigger(
            seconds=int(step.total_seconds()), start_date=_EPOCH.replace(tzinfo=tz), timezone=tz
        )
    if isinstance(trigger, DailyTrigger):
        return _OncePerWallTime(
            APCron(hour=trigger.hour, minute=trigger.minute, second=0, timezone=tz)
        )
    if isinstance(trigger, CronTrigger):
        spec = parse_cron(trigger.expr)
        common = {
            "minute": _field(spec.minutes),
            "hour": _field(spec.hours),
            "month": _field(spec.months),
            "second": 0,
            "timezone": tz,
        }
        weekdays = (
            None
            if spec.weekdays is None
            else ",".join(sorted({_DAY_NAMES[d % 7] for d in spec.weekdays}, key=_DAY_NAMES.index))
        )
        days = _field(spec.days)
        cron: BaseTrigger = APCron(day=days, day_of_week=weekdays, **common)
        if days is not None and weekdays is not None:
            cron = OrTrigger([APCron(day=days, **common), APCron(day_of_week=weekdays, **common)])
        # As in cron: a job at a fixed hour runs once when DST repeats that hour; an hourly
        # (`*` hour) job runs in both real hours.
        return cron if spec.hours is None else _OncePerWallTime(cron)
    raise TypeError(f"not a schedule: {trigger!r}")


class _OncePerWallTime(BaseTrigger):  # type: ignore[misc]
    """A fixed wall-clock schedule that fires once when a DST fall-back repeats its time.

    APScheduler's CronTrigger fires at 01:30 EDT and again at 01:30 EST on the fall-back day,
    so `daily at 01:30` would run twice that day; the second (fold=1) occurrence is skipped.
    """

    def __init__(self, inner: BaseTrigger) -> None:
        self.inner = inner

    def get_next_fire_time(
        self, previous_fire_time: datetime | None, now: datetime
    ) -> datetime | None:
        fire: datetime | None = self.inner.get_next_fire_time(None, now)
        while fire is not None and _repeated_wall_time(fire):
            fire = self.inner.get_next_fire_time(None, fire.astimezone(UTC) + timedelta(seconds=1))
        return fire


def _repeated_wall_time(moment: datetime) -> bool:
    """True for the second occurrence of a wall time that a DST fall-back repeats."""
    first = moment.replace(fold=0)
    return moment.fold == 1 and first.utcoffset() != moment.utcoffset()


def next_fire(trigger: BaseTrigger, after: datetime) -> datetime | None:
    """The first fire time strictly after `after`, in UTC.

    All stepping and comparing is done in UTC: two aware datetimes of the same zone compare by
    wall clock (fold ignored), so in a DST fall-back hour 01:30 EST would not count as later
    than 01:30 EDT and the loop below never ended. Slots are stored in UTC too (SQLite keeps
    no offset, and the runner reads a stored slot back as UTC).
    """
    after = after.astimezone(UTC)
    fire: datetime | None = trigger.get_next_fire_time(None, after)
    # APScheduler may return `after` itself when it is a fire time: step past it.
    while fire is not None and fire.astimezone(UTC) <= after:
        fire = trigger.get_next_fire_time(None, fire.astimezone(UTC) + timedelta(seconds=1))
    return None if fire is None else fire.astimezone(UTC)


def latest_fire(trigger: BaseTrigger, now: datetime, since: datetime | None) -> datetime | None:
    """The latest fire time in (since, now], or None when there is none."""
    windows = [timedelta(hours=1), timedelta(days=1), timedelta(days=32), timedelta(days=367)]
    for window in windows:
        start = now - window
        if since is not None and start < since:
            start = since
        # Strictly after `since` itself: `since` is a fire time (the last slot run), and a
        # window clamped to it must look at the slots after it, not stop at it.
        after = start - timedelta(microseconds=1)
        first = next_fire(trigger, after if since is None else max(after, since))
        if first is not None and first <= now and (since is None or first > since):
            latest = first
            while (following := next_fire(trigger, latest)) is not None and following <= now:
                latest = following
            return latest
        if since is not None and start == since:
            return None
    return None


def can_fire(trigger: Trigger) -> bool:
    """False for the schedules `dibs rules check` warns can never fire: `every 0 …`, and a cron
    date that never exists (31 February). They never run, as the warning says."""
    if isinstance(trigger, EveryTrigger):
        return trigger.amount > 0
    if isinstance(trigger, CronTrigger):
        return parse_cron(trigger.expr).can_fire()
    return True


def due_slot(trigger: Trigger, tz: tzinfo, last: datetime | None, now: datetime) -> datetime | None:
    """The slot to run now, or None when the schedule is not due.

    Due means: the next fire time after the last recorded slot is not in the future; a rule
    that never ran is due at once. The slot is the latest fire time not after `now`, so missed
    slots collapse into one run. A never-run rule whose schedule has not fired in the last year
    runs for the current minute.
    """
    if not can_fire(trigger):
        return None
    ap = ap_trigger(trigger, tz)
    if last is None:
        slot = latest_fire(ap, now, None)
        return slot if slot is not None else now.replace(second=0, microsecond=0)
    upcoming = next_fire(ap, last)
    if upcoming is None or upcoming > now:
        return None
    return latest_fire(ap, now, last) or upcoming


def wait_until_next(trigger: Trigger, tz: tzinfo, now: datetime) -> datetime | None:
    """When this schedule fires next after `now` (for the run loop's sleep)."""
    return next_fire(ap_trigger(trigger, tz), now) if can_fire(trigger) else None


class Stopper:
    """SIGINT/SIGTERM ask the loop to stop after the current tick; a sleep, and a check of a
    changed rule file in progress (`engine.run.reload`), end at once."""

    def __init__(self) -> None:
        self.event = threading.Event()

    def install(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._handle)

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        log.info("received %s: finishing the current tick", signal.Signals(signum).name)
        self.event.set()

    @property
    def stopped(self) -> bool:
        return self.event.is_set()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self.event.wait(seconds)


def run_loop(
    tick: Callable[[], datetime | None],
    every: float,
    clock: Callable[[], datetime],
    stopper: Stopper,
) -> None:
    """Call `tick` every `every` seconds, and right when a schedule is due, until stopped.

    `tick` returns the next schedule fire time it knows of (or None).
    """
    while not stopper.stopped:
        upcoming = tick()
        if stopper.stopped:
            break
        pause = every
        if upcoming is not None:
            pause = min(pause, max((upcoming - clock()).total_seconds(), 0.0))
        stopper.sleep(pause)
