"""Type checking of a rule against a field vocabulary passed in by the caller.

dsl knows nothing about orders: ``rules.vocabulary`` describes the fields (name, type, and the
Python expression that reads them, used by dsl.compile) and hands a :class:`Vocabulary` in here.
Checking collects every problem of a rule instead of stopping at the first one, so a rule file can
be fixed in one pass.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from dsl.errors import DslTypeError, shorten
from dsl.regex import RegexError, compile_regex
from dsl.syntax import (
    And,
    Compare,
    Condition,
    Contains,
    EveryTrigger,
    FieldRef,
    InList,
    Literal,
    Matches,
    Not,
    Or,
    Rule,
)


class FieldType(StrEnum):
    """The types a field can have; ``SCALAR`` is a value of unknown scalar type (attributes)."""

    STRING = "string"
    NUMBER = "number"
    INTEGER = "integer"
    DATETIME = "datetime"
    DURATION = "duration"
    BOOLEAN = "boolean"
    STRING_SET = "set of strings"
    SCALAR = "scalar"


@dataclass(frozen=True)
class FieldSpec:
    """One field rules may use.

    ``expr`` is a Python expression reading the field, over the names ``o`` (the order) and
    ``now`` (the evaluation time); dsl.compile pastes it into generated code. ``nullable`` says
    whether the expression can yield None (a missing value).
    """

    name: str
    type: FieldType
    expr: str
    nullable: bool = True
    description: str = ""


@dataclass(frozen=True)
class Vocabulary:
    """The fields known to the checker and the compiler.

    ``prefixes`` maps a prefix such as ``"attributes."`` to a factory building the spec of any key
    under it, for open-ended maps like ``attributes.<key>``.
    """

    fields: Mapping[str, FieldSpec]
    prefixes: Mapping[str, Callable[[str], FieldSpec]] = field(default_factory=dict)

    def lookup(self, name: str) -> FieldSpec | None:
        """The spec of ``name``, or None when the field is unknown."""
        spec = self.fields.get(name)
        if spec is not None:
            return spec
        for prefix, factory in self.prefixes.items():
            if name.startswith(prefix) and len(name) > len(prefix):
                return factory(name[len(prefix) :])
        return None

    def names(self) -> list[str]:
        """Every field name, with ``<key>`` standing for the open-ended part of a prefix."""
        return [*self.fields, *(f"{p}<key>" for p in self.prefixes)]


def parse_datetime_literal(text: str) -> datetime | None:
    """An ISO-8601 string as a timezone-aware datetime (UTC when no zone is given), else None.

    None also when the instant has no UTC equivalent (``0001-01-01T00:00:00+01:00`` is before
    year 1 in UTC): the engine stores and compares times in UTC. See
    :func:`datetime_literal_problem` for the reason in words.
    """
    return None if datetime_literal_problem(text) else _parse_datetime(text)


def datetime_literal_problem(text: str) -> str | None:
    """Why ``text`` is not a usable date-time ("is not an ISO-8601 date-time", "is out of
    range ..."), or None when it is one."""
    value = _parse_datetime(text)
    if value is None:
        return "is not an ISO-8601 date-time"
    try:
        value.astimezone(UTC)
    except OverflowError:
        return "is out of range: in UTC it must fall between years 1 and 9999"
    return None


def _parse_datetime(text: str) -> datetime | None:
    if len(text) > 64:  # the longest ISO-8601 form is ~40 characters
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def resolve_field(ref: FieldRef, vocabulary: Vocabulary) -> FieldSpec:
    """The spec of a field reference; an unknown field raises with a "did you mean" hint."""
    spec = vocabulary.lookup(ref.name)
    if spec is not None:
        return spec
    names = list(vocabulary.fields)
    suffix = [n for n in names if n.endswith("." + ref.name)]
    # Also compare with the last part of dotted names, so `contry` finds `ship_to.country`.
    by_tail = {n.rsplit(".", 1)[-1]: n for n in names if "." in n}
    tail = difflib.get_close_matches(ref.name.rsplit(".", 1)[-1], list(by_tail), n=1)
    close = (
        suffix
        or difflib.get_close_matches(ref.name, names, n=1, cutoff=0.6)
        or [by_tail[t] for t in tail]
    )
    prefixes = [p for p in vocabulary.prefixes if ref.name.startswith(p.split(".")[0])]
    if close:
        hint = f"did you mean `{close[0]}`?"
    elif prefixes:
        hint = f"write `{prefixes[0]}<key>`"
    else:
        hint = "known fields: " + ", ".join(vocabulary.names())
    raise DslTypeError(
        f"unknown field `{shorten(ref.name)}`",
        line=ref.line,
        column=ref.column,
        text=ref.name,
        hint=hint,
    )


#: The longest `every` interval, per unit: ten years. Longer ones overflow date arithmetic, and
#: nobody schedules a rule less often than that.
MAX_EVERY = {"minutes": 3650 * 24 * 60, "hours": 3650 * 24, "days": 3650}


def check_rule(rule: Rule, vocabulary: Vocabulary) -> list[DslTypeError]:
    """Every type problem of a rule: its schedule, its condition and its ``order by`` keys."""
    errors = check_condition(rule.condition, vocabulary)
    trigger = rule.trigger
    if isinstance(trigger, EveryTrigger):
        limit = MAX_EVERY[trigger.unit]
        if trigger.amount > limit:
            errors.append(
                DslTypeError(
                    f"`every {trigger.amount} {trigger.unit}` is too long an interval",
                    line=trigger.line,
                    column=trigger.column,
                    text=f"every {trigger.amount} {trigger.unit}",
                    hint=f"at most {limit} {trigger.unit} (ten years); for rare dates use cron",
                )
            )
    for key in rule.order_by:
        try:
            spec = resolve_field(key.field, vocabulary)
        except DslTypeError as exc:
            errors.append(exc)
            continue
        if spec.type is FieldType.STRING_SET:
            errors.append(
                DslTypeError(
                    f"cannot order by `{shorten(spec.name)}`: it is a {spec.type}",
                    line=key.field.line,
                    column=key.field.column,
                    text=spec.name,
                    hint="order by a single value such as placed_at, total or line_count",
                )
            )
    return errors


def check_condition(condition: Condition | None, vocabulary: Vocabulary) -> list[DslTypeError]:
    """Every type problem of a condition (an empty list means it compiles)."""
    if condition is None:
        return []
    errors: list[DslTypeError] = []
    for node in _comparisons(condition):
        try:
            spec = resolve_field(node.field, vocabulary)
        except DslTypeError as exc:
            errors.append(exc)
            continue
        errors.extend(_check_comparison(node, spec))
    return errors


def _comparisons(condition: Condition) -> Iterator[Compare | InList | Contains | Matches]:
    if isinstance(condition, And | Or):
        for item in condition.items:
            yield from _comparisons(item)
    elif isinstance(condition, Not):
        yield from _comparisons(condition.item)
    else:
        yield condition


_ORDERED = {
    FieldType.STRING,
    FieldType.NUMBER,
    FieldType.INTEGER,
    FieldType.DATETIME,
    FieldType.DURATION,
    FieldType.SCALAR,
}


def _check_comparison(
    node: Compare | InList | Contains | Matches, spec: FieldSpec
) -> list[DslTypeError]:
    if isinstance(node, Compare):
        if node.op in ("==", "!="):
            return _check_equality(spec, node.value)
        return _check_ordering(spec, node.value)
    if isinstance(node, InList):
        errors: list[DslTypeError] = []
        if spec.type is FieldType.STRING_SET:
            return [
                _mismatch(
                    spec,
                    node.values[0] if node.values else None,
                    node,
                    f'use `contains` to test membership, e.g. `{shorten(spec.name)} contains "x"`',
                )
            ]
        for value in node.values:
            errors.extend(_check_equality(spec, value))
        return errors
    if isinstance(node, Contains):
        if spec.type not in (FieldType.STRING_SET, FieldType.STRING, FieldType.SCALAR):
            return [_mismatch(spec, node.value, node, "`contains` works on tags, skus and text")]
        if node.value.kind != "string":
            return [
                _mismatch(spec, node.value, node.value, "compare with a string in double quotes")
            ]
        return []
    # matches
    if spec.type not in (FieldType.STRING, FieldType.SCALAR):
        return [_mismatch(spec, node.pattern, node, "`matches` works on text fields only")]
    try:
        compile_regex(str(node.pattern.value))
    except RegexError as exc:
        return [
            DslTypeError(
                f"invalid regular expression: {shorten(exc.message)}",
                line=node.pattern.line,
                column=node.pattern.column,
                text=shorten(node.pattern.value),
                hint=_regex_hint(exc.message),
            )
        ]
    return []


def _regex_hint(reason: str) -> str:
    if "perl operator" in reason or "escape sequence: \\" in reason:
        return (
            "regexes use RE2 syntax, which has no backreferences (\\1) or lookaround ((?=, (?!, "
            "(?<=, (?<!) so that matching always takes linear time"
        )
    return (
        "regexes use RE2 syntax (Python `re` without backreferences and lookaround) and match "
        "anywhere in the value"
    )


def _check_equality(spec: FieldSpec, value: Literal) -> list[DslTypeError]:
    t = spec.type
    kind = value.kind
    ok = {
        FieldType.STRING: kind == "string",
        FieldType.NUMBER: kind == "number",
        FieldType.INTEGER: kind == "number",
        FieldType.DURATION: kind == "duration",
        FieldType.BOOLEAN: kind == "boolean",
        FieldType.SCALAR: kind != "duration",
        FieldType.DATETIME: kind == "string",
        FieldType.STRING_SET: False,
    }[t]
    if ok and t is FieldType.DATETIME:
        return _check_datetime(spec, value)
    if ok:
        return []
    return [_mismatch(spec, value, value, _hint_for(spec, value))]


def _check_ordering(spec: FieldSpec, value: Literal) -> list[DslTypeError]:
    if spec.type not in _ORDERED:
        return [
            _mismatch(
                spec,
                value,
                value,
                _hint_for(spec, value),
                f"`{shorten(spec.name)}` is a {spec.type} and cannot be ordered",
            )
        ]
    if spec.type is FieldType.SCALAR:
        ok = value.kind in ("string", "number")
    else:
        return _check_equality(spec, value)
    return [] if ok else [_mismatch(spec, value, value, _hint_for(spec, value))]


def _check_datetime(spec: FieldSpec, value: Literal) -> list[DslTypeError]:
    problem = datetime_literal_problem(str(value.value))
    if problem is None:
        return []
    return [
        DslTypeError(
            f'`{shorten(spec.name)}` is a datetime; "{shorten(value.value)}" {problem}',
            line=value.line,
            column=value.column,
            text=shorten(value.value),
            hint='write it like "2026-01-31T09:00:00Z", or compare `age` with a duration',
        )
    ]


def _hint_for(spec: FieldSpec, value: Literal) -> str:
    if spec.type is FieldType.DURATION and value.kind == "number":
        return f"add a unit, e.g. `{shorten(spec.name)} > {shorten(value.value)} days`"
    if spec.type is FieldType.STRING_SET:
        return f'use `contains` to test membership, e.g. `{shorten(spec.name)} contains "x"`'
    if spec.type is FieldType.DATETIME and value.kind == "duration":
        return "compare `age` with a duration, or `placed_at` with a date-time string"
    if spec.type is FieldType.STRING and value.kind != "string":
        return "put text in double quotes"
    if spec.type in (FieldType.NUMBER, FieldType.INTEGER):
        return "compare with a number, without quotes"
    if spec.type is FieldType.BOOLEAN:
        return "compare with true or false"
    return f"compare `{shorten(spec.name)}` with a {spec.type}"


def _mismatch(
    spec: FieldSpec,
    value: Literal | None,
    at: Literal | Compare | InList | Contains | Matches,
    hint: str,
    message: str | None = None,
) -> DslTypeError:
    if message is None:
        shown = _show(value) if value is not None else "a list"
        kind = value.kind if value is not None else "list"
        name = shorten(spec.name)
        message = f"`{name}` is a {spec.type}; cannot compare it with {shown} (a {kind})"
    return DslTypeError(
        message,
        line=at.line,
        column=at.column,
        text=_show(value) if value is not None else spec.name,
        hint=hint,
    )


def _show(value: Literal) -> str:
    if value.kind == "string":
        return f'"{shorten(value.value)}"'
    if value.kind == "boolean":
        return "true" if value.value else "false"
    return shorten(value.value)
