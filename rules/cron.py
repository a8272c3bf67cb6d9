"""A small validator for 5-field crontab expressions (no scheduler import in rules/).

Accepts what ``CronTrigger.from_crontab`` and cron users agree on: ``*``, numbers, ranges
``a-b``, steps ``*/n`` and ``a-b/n``, lists ``a,b``, month names ``jan``..``dec`` and day names
``sun``..``sat`` (day of week 0-7, both 0 and 7 meaning Sunday). ``@daily``-style macros are
refused: write the five fields.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from dsl.errors import shorten

_MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
_DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
_FIELDS: tuple[tuple[str, int, int, dict[str, int]], ...] = (
    ("minute", 0, 59, {}),
    ("hour", 0, 23, {}),
    ("day of month", 1, 31, {}),
    ("month", 1, 12, {name: i + 1 for i, name in enumerate(_MONTHS)}),
    ("day of week", 0, 7, {name: i for i, name in enumerate(_DAYS)}),
)
_DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
_PART = re.compile(r"^(\*|[a-z0-9]+(?:-[a-z0-9]+)?)(?:/([0-9]+))?$")


class CronError(ValueError):
    """An invalid crontab expression; the message says which field and why."""


@dataclass(frozen=True)
class CronSpec:
    """The values each field of a valid expression allows (None = every value: ``*``)."""

    minutes: frozenset[int] | None
    hours: frozenset[int] | None
    days: frozenset[int] | None
    months: frozenset[int] | None
    weekdays: frozenset[int] | None

    def can_fire(self) -> bool:
        """False when the day-of-month/month combination never exists (e.g. 31 February).

        When both day fields are restricted cron fires on either, so only a ``*`` day of week
        makes an impossible day of month unreachable.
        """
        if self.days is None or self.weekdays is not None:
            return True
        months = self.months if self.months is not None else frozenset(range(1, 13))
        return any(day <= _DAYS_IN_MONTH[m - 1] for m in months for day in self.days)


def parse_cron(expr: str) -> CronSpec:
    """Validate a 5-field crontab expression; raises :class:`CronError`."""
    text = expr.strip().lower()
    if text.startswith("@"):
        raise CronError(
            f"`{shorten(expr)}`: macros like @daily are not supported; write five fields"
        )
    parts = text.split()
    if len(parts) != 5:
        raise CronError(
            f"`{shorten(expr)}` has {len(parts)} field(s); cron needs 5: "
            "minute hour day-of-month month day-of-week"
        )
    values = [_parse_field(part, *spec) for part, spec in zip(parts, _FIELDS, strict=True)]
    return CronSpec(*values)


def _parse_field(
    text: str, name: str, low: int, high: int, names: dict[str, int]
) -> frozenset[int] | None:
    if text == "*":
        return None
    allowed: set[int] = set()
    for item in text.split(","):
        match = _PART.match(item)
        if not match:
            raise CronError(f"{name} `{shorten(text)}`: cannot read `{shorten(item)}`")
        base, step_text = match.groups()
        if step_text and len(step_text) > 4:  # int() of 4,300+ digits raises ValueError
            raise CronError(f"{name} `{shorten(text)}`: step {shorten(step_text)} is too large")
        step = int(step_text) if step_text else 1
        if step < 1:
            raise CronError(f"{name} `{shorten(text)}`: a step must be at least 1")
        if base == "*":
            start, end = low, high
        else:
            bounds = [_value(b, name, low, high, names) for b in base.split("-")]
            start, end = bounds[0], bounds[-1]
            if start > end:
                raise CronError(f"{name} `{shorten(text)}`: range {start}-{end} runs backwards")
            if step_text and len(bounds) == 1:
                end = high  # "5/15" means from 5 to the end, every 15
        allowed.update(range(start, end + 1, step))
    if name == "day of week" and 7 in allowed:
        allowed = (allowed - {7}) | {0}
    return frozenset(allowed)


def _value(text: str, name: str, low: int, high: int, names: dict[str, int]) -> int:
    if text in names:
        return names[text]
    if not (text.isascii() and text.isdigit()):
        raise CronError(
            f"{name}: `{shorten(text)}` is not a number"
            + (f" or a name ({', '.join(names)})" if names else "")
        )
    if len(text.lstrip("0")) > 4:  # int() of 4,300+ digits raises ValueError
        raise CronError(f"{name}: {shorten(text)} is out of range {low}-{high}")
    value = int(text)
    if not low <= value <= high:
        raise CronError(f"{name}: {value} is out of range {low}-{high}")
    return value
