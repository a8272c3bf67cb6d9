from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from rules.cron import CronError, parse_cron
from rules.loader import check_ruleset


def warnings(tmp_path: Path, rules: str) -> list[str]:
    path = tmp_path / "r.yaml"
    path.write_text("version: 1\nrules:\n" + textwrap.indent(textwrap.dedent(rules), "  "))
    ruleset, found = check_ruleset(path)
    assert ruleset is not None, found
    assert [str(w) for w in ruleset.warnings] == [str(d) for d in found]
    return [f"{d.line}:{d.column}: {d.message}" for d in found if d.severity == "warning"]


def test_shadowed_rule(tmp_path: Path) -> None:
    found = warnings(
        tmp_path,
        """\
        - {name: hold, priority: 9, rule: 'when new order then tag "h", stop'}
        - {name: never, rule: when new order if total > 5 then allocate}
        """,
    )
    assert found == [
        "4:25: rule `never` never applies: `hold` (priority 9) matches the same orders first "
        "and says stop"
    ]


def test_identical_condition_shadows_but_different_does_not(tmp_path: Path) -> None:
    found = warnings(
        tmp_path,
        """\
        - {name: a, priority: 9, rule: 'when new order if channel == "x" then allocate, stop'}
        - {name: b, priority: 1, rule: 'when new order if channel=="x" then tag "t"'}
        - {name: c, priority: 1, rule: 'when new order if channel == "y" then allocate'}
        """,
    )
    assert len(found) == 1 and "`b` never applies" in found[0]


def test_equal_priority_overlap(tmp_path: Path) -> None:
    found = warnings(
        tmp_path,
        """\
        - {name: a, rule: 'when new order if total > 5 then allocate'}
        - {name: b, rule: 'when new order if channel == "x" then allocate by unit'}
        - {name: c, rule: 'when order updated if channel == "x" then allocate'}
        - {name: d, rule: 'when order updated if channel == "y" then allocate'}
        - {name: e, rule: 'when order updated if channel in ["z"] then allocate'}
        """,
    )
    assert found == [
        "4:21: rules `a` and `b` have the same priority (0) and can match the same order; "
        "file order decides"
    ]


def test_schedules_that_never_fire(tmp_path: Path) -> None:
    found = warnings(
        tmp_path,
        """\
        - {name: a, rule: every 0 minutes then allocate}
        - {name: b, priority: 1, rule: 'cron "0 0 31 2 *" then allocate'}
        - {name: c, priority: 2, rule: 'cron "0 0 29 2 *" then allocate'}
        """,
    )
    assert found == [
        "3:21: `every 0 minutes` never fires",
        '4:34: cron "0 0 31 2 *" names a date that never exists',
    ]


def test_an_empty_in_list_never_matches(tmp_path: Path) -> None:
    """`channel in []` passed `rules check` silently: a rule that can never apply."""
    found = warnings(
        tmp_path,
        """\
        - {name: a, rule: 'when new order if total > 5 and not (channel in []) then allocate'}
        - {name: b, priority: 1, rule: 'when new order if channel in [] or total > 5 then stop'}
        - {name: c, priority: 2, rule: 'when new order if channel not in [] then allocate'}
        """,
    )
    assert found == [
        "3:21: `channel in []` never matches: the list is empty",
        "4:34: `channel in []` never matches: the list is empty",
    ], found


@pytest.mark.parametrize(
    "expr",
    ["* * * * *", "0 2 * * 0", "*/15 9-17 * * mon-fri", "0 0 1,15 jan,jul *", "5/10 * * * 7"],
)
def test_valid_cron(expr: str) -> None:
    parse_cron(expr)


@pytest.mark.parametrize(
    ("expr", "part"),
    [
        ("* * * *", "needs 5"),
        ("60 * * * *", "minute: 60"),
        ("* * 0 * *", "day of month: 0"),
        ("* * * 13 *", "month: 13"),
        ("* * * * 8", "day of week: 8"),
        ("5-1 * * * *", "backwards"),
        ("*/0 * * * *", "at least 1"),
        ("@daily", "macros"),
        ("x * * * *", "not a number"),
        ("1-2-3 * * * *", "cannot read"),
    ],
)
def test_invalid_cron(expr: str, part: str) -> None:
    with pytest.raises(CronError, match=part):
        parse_cron(expr)
