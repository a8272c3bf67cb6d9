"""`--where CONDITION`: a rule-language condition typed on the command line, as a SQL clause.

Errors point into the user's own text (line and column of the condition, not of the rule the
parser actually read).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from dsl.errors import DslError
from dsl.parser import parse_rule
from dsl.types import check_condition
from engine.errors import BadInput
from engine.store.sqlfilter import Clause, condition_clause
from rules.vocabulary import ORDER_VOCABULARY

_PREFIX = "when new order if "
_SUFFIX = " then allocate"
_THEN = re.compile(r'"(?:[^"\\\n]|\\.)*"|(?<![\w.])then(?![\w.-])')


def where_clause(text: str, now: datetime | None = None, label: str = "--where") -> Clause:
    """The clause for a `--where CONDITION` (SPEC §7 condition syntax), evaluated at `now`.

    Any problem raises :class:`BadInput` as `LABEL:LINE:COLUMN: message`, with a hint line;
    `label` names where the condition came from (`--where`, or the HTTP API's `where`).
    """
    for found in _THEN.finditer(text):
        if found.group(0) == "then":
            line, column = _position(text, found.start())
            raise _bad(
                label,
                line,
                column,
                "unexpected `then`: --where takes a condition only",
                "e.g. --where 'channel == \"amazon\" and total > 100'",
            )
    try:
        rule = parse_rule(_PREFIX + text + _SUFFIX)
        assert rule.condition is not None
        errors = check_condition(rule.condition, ORDER_VOCABULARY)
        if errors:
            raise errors[0]
    except DslError as exc:
        raise _translate(label, text, exc) from None
    return condition_clause(rule.condition, now or datetime.now(UTC))


# ---- --where errors --------------------------------------------------------------------------


def _position(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _bad(label: str, line: int, column: int, message: str, hint: str | None) -> BadInput:
    return BadInput(
        f"{label}:{line}:{column}: {message}",
        [f"  hint: {hint}"] if hint else [],
        field=label.lstrip("-").replace("-", "_"),
    )


def _translate(label: str, text: str, exc: DslError) -> BadInput:
    """Move a position in the wrapped rule back into the user's text; hide the wrapper."""
    line, column = exc.line, exc.column
    if line == 1:
        column -= len(_PREFIX)
    lines = text.split("\n")
    past_end = line > len(lines) or (line == len(lines) and column > len(lines[-1]))
    message, hint = exc.message, exc.hint
    if hint and "then" in hint:
        hint = None
    if message.startswith("unexpected"):
        expected = [e for e in exc.expected if e not in ('"then"', "the end of the rule")]
        if past_end or column < 1:
            message = "unexpected end of condition"
            line, column = len(lines), len(lines[-1].rstrip()) + 1
        else:
            message = f"unexpected `{exc.text}`" if exc.text else "unexpected input"
        if expected:
            shown = (
                expected[0]
                if len(expected) == 1
                else (", ".join(expected[:-1]) + " or " + expected[-1])
            )
            message += f", expected {shown}"
    if not text.strip():
        message, hint = "empty condition", "e.g. --where 'channel == \"amazon\"'"
        line, column = 1, 1
    return _bad(label, line, max(column, 1), message, hint)
