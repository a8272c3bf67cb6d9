"""dsl condition -> SQLAlchemy Core clause over `orders`, so selections happen in the database.

The clause selects exactly the orders that `dsl.compile`'s predicate accepts (the semantics are
documented there); `tests/integration/test_sqlfilter.py` checks that on SQLite and PostgreSQL
with random conditions and orders. How each Python rule is carried over:

* **Missing values.** SQL's NULL plays None. A positive comparison (==, <, in, contains,
  matches) may come out NULL, which a WHERE treats as false, like the predicate. `!=`, `not in`
  and `not contains` are written `x IS NULL OR NOT (…)` so that a missing value satisfies them,
  and `not` wraps anything that can be NULL in `coalesce(…, false)`: three-valued logic never
  reaches the user.
* **Strings** compare by code point: SQLite's default BINARY collation already does; on
  PostgreSQL ordering comparisons use `COLLATE "C"` whatever the database's locale.
* **Numbers.** `total` is stored exactly as a whole number of 1/10,000ths in a BIGINT
  (`engine.store.schema.Money`, which converts the bound literal the same way), and
  `line_count`/`unit_count` are integers: a literal with more decimals than the column can hold
  is rounded in the direction that keeps the comparison exact (`total < 1.00005` is
  `total < 1.0001`), and `==` with it is false; a literal beyond every storable total
  (`model.MAX_TOTAL`) is clamped just past that range, which changes no comparison. So both
  backends agree with Python's Decimal for every total dibs accepts.
* **age** is `now - placed_at`, so `age > 3 days` becomes `placed_at < now - 3 days`.
* **tags / skus** are correlated EXISTS on `order_tags` / `order_lines`.
* **attributes.<key>** are read from the JSON column with a type test first (SQLite `json_type`,
  PostgreSQL `json_typeof`), so a value of the wrong type is NULL, hence false, never an error:
  text views only strings, number views numbers *and booleans as 1/0* (the predicate uses
  Python's `==`, `in` and `<`, where `True == 1`), `== true`/`== false` views only booleans
  (the predicate uses `is`). A float attribute is compared as a double with the literal as the
  predicate compares a float with a Decimal: exactly (`0.1` the float is not `0.1` the literal).

Known divergences (documented, not tested as equal):

* `matches` on PostgreSQL uses its own regex dialect (`~`, POSIX ARE), not Python's `re`:
  common patterns (anchors, classes, `\\d`, `\\w`, alternation, repetition) mean the same, but
  Python-only syntax (`(?P<name>…)`, lookbehind) does not, and `.`/`$` treat newlines
  differently. SQLite calls `dsl.regex.regex_search` (registered by engine.store), the function
  the rule language's `matches` uses, so it is exact there; both match in linear time.
* Integer attributes beyond ±2**53 are compared as doubles (the predicate compares ints exactly).
"""

from __future__ import annotations

import operator
from datetime import UTC, datetime, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Float,
    String,
    and_,
    bindparam,
    false,
    func,
    literal,
    not_,
    or_,
    select,
    true,
)

from dsl.syntax import (
    And,
    Compare,
    CompareOp,
    Condition,
    Contains,
    InList,
    Literal,
    Matches,
    Not,
    Or,
)
from dsl.types import FieldSpec, FieldType, check_condition, parse_datetime_literal, resolve_field
from engine.model import MAX_TOTAL
from engine.store import FIELD_COLUMNS, order_lines, order_tags, orders
from engine.store.sqlfunctions import Bytewise, Found, JsonBool, JsonNumber, JsonText
from rules.vocabulary import ORDER_VOCABULARY

Clause = ColumnElement[bool]

_ATTRIBUTE_PREFIX = "attributes."
_FLIPPED: dict[CompareOp, CompareOp] = {
    "==": "==",
    "!=": "!=",
    "<": ">",
    "<=": ">=",
    ">": "<",
    ">=": "<=",
}
#: How many decimals each numeric column holds (the quantum a literal is rounded to).
_QUANTUM = {"total": Decimal("0.0001"), "line_count": Decimal(1), "unit_count": Decimal(1)}


# ---- public API ------------------------------------------------------------------------------


def condition_clause(cond: Condition, now: datetime) -> Clause:
    """The SQL clause over `orders` selecting what `dsl.compile`'s predicate accepts at `now`.

    The condition is type-checked against the order vocabulary first; the first problem is
    raised as :class:`dsl.errors.DslTypeError`. `now` is the evaluation time for `age` (naive
    means UTC).
    """
    errors = check_condition(cond, ORDER_VOCABULARY)
    if errors:
        raise errors[0]
    now = now.astimezone(UTC) if now.tzinfo else now.replace(tzinfo=UTC)
    clause, _ = _Builder(now).build(cond)
    return clause


def prefilter_clause(cond: Condition, now: datetime, dialect: str) -> Clause | None:
    """The condition as SQL for narrowing a schedule's candidates, or None when it cannot be
    pushed down exactly: PostgreSQL's regex dialect differs from the rule language's."""
    if dialect == "postgresql" and _uses_regex(cond):
        return None
    return condition_clause(cond, now)


def _uses_regex(condition: Condition) -> bool:
    if isinstance(condition, Matches):
        return True
    if isinstance(condition, And | Or):
        return any(_uses_regex(item) for item in condition.items)
    if isinstance(condition, Not):
        return _uses_regex(condition.item)
    return False


# ---- exact numeric bounds -------------------------------------------------------------------


def _column_bound(
    op: CompareOp, value: Decimal, quantum: Decimal
) -> tuple[CompareOp, Decimal] | bool:
    """`x OP value` for x a multiple of `quantum`, as an equivalent `x OP' bound` with `bound` a
    multiple of `quantum`, or a constant when the answer does not depend on x (NULLs aside)."""
    low = value.quantize(quantum, rounding=ROUND_FLOOR)
    if low == value:
        return op, low
    high = value.quantize(quantum, rounding=ROUND_CEILING)
    table: dict[CompareOp, tuple[CompareOp, Decimal] | bool] = {
        "==": False,
        "!=": True,
        "<": ("<", high),
        "<=": ("<=", low),
        ">": (">", low),
        ">=": (">=", high),
    }
    return table[op]


def _double_bound(op: CompareOp, value: Decimal) -> tuple[CompareOp, float] | bool:
    """`f OP value` for a double f, as an equivalent `f OP' g` with g a double.

    g is the double nearest `value`; no double lies strictly between them, so when g is above
    `value`, `f < value` is `f < g` and `f > value` is `f >= g` (and mirrored below).
    """
    g = float(value)
    exact = Decimal(g)
    if exact == value:
        return op, g
    above = exact > value
    table: dict[CompareOp, tuple[CompareOp, float] | bool] = {
        "==": False,
        "!=": True,
        "<": ("<", g) if above else ("<=", g),
        "<=": ("<", g) if above else ("<=", g),
        ">": (">=", g) if above else (">", g),
        ">=": (">=", g) if above else (">", g),
    }
    return table[op]


_OPERATORS: dict[CompareOp, Any] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def _apply(op: CompareOp, left: ColumnElement[Any], right: Any) -> Clause:
    clause: Clause = _OPERATORS[op](left, right)
    return clause


def _clamp_total(limit: Decimal) -> Decimal:
    """A bound for `total` that fits its BIGINT: every stored total lies in [0, MAX_TOTAL), so a
    bound past either end compares like that end (no stored value lies between them)."""
    return max(-MAX_TOTAL, min(limit, MAX_TOTAL))


def _number(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(int(value))


# ---- the translation ------------------------------------------------------------------------


class _Builder:
    """Builds clauses; each comes with whether it can be NULL (`not` then needs coalesce)."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def build(self, node: Condition) -> tuple[Clause, bool]:
        if isinstance(node, And | Or):
            parts = [self.build(item) for item in node.items]
            join = and_ if isinstance(node, And) else or_
            return join(*(c for c, _ in parts)), any(n for _, n in parts)
        if isinstance(node, Not):
            inner, nullable = self.build(node.item)
            return _negate(inner, nullable), False
        spec = resolve_field(node.field, ORDER_VOCABULARY)
        if spec.type is FieldType.SCALAR:
            return self._attribute(spec.name[len(_ATTRIBUTE_PREFIX) :], node)
        if spec.type is FieldType.STRING_SET:
            assert isinstance(node, Contains)  # the checker allows nothing else on sets
            found = _set_contains(spec.name, str(node.value.value))
            return (not_(found) if node.negated else found), False
        if spec.name == "age":
            return self._age(node), False
        return self._column(spec, node)

    # -- plain columns

    def _column(self, spec: FieldSpec, node: Condition) -> tuple[Clause, bool]:
        column = FIELD_COLUMNS[spec.name]
        nullable = spec.nullable

        def negated(positive: Clause) -> tuple[Clause, bool]:
            if nullable:
                return or_(column.is_(None), not_(positive)), False
            return not_(positive), False

        if isinstance(node, Compare):
            if node.op == "!=":
                return negated(self._column_compare(spec, "==", node.value))
            return self._column_compare(spec, node.op, node.value), nullable
        if isinstance(node, InList):
            values = [self._column_value(spec, v) for v in node.values]
            kept = [v for v in values if v is not None]
            positive = column.in_(kept) if kept else false()
            return negated(positive) if node.negated else (positive, nullable)
        if isinstance(node, Contains):
            found = Found(column, literal(str(node.value.value), String()))
            return negated(found) if node.negated else (found, nullable)
        assert isinstance(node, Matches)
        return column.regexp_match(str(node.pattern.value)), nullable

    def _column_value(self, spec: FieldSpec, value: Literal) -> Any:
        """The literal as the column stores it, or None when no stored value can equal it."""
        if spec.type is FieldType.DATETIME:
            parsed = parse_datetime_literal(str(value.value))
            assert parsed is not None
            return parsed.astimezone(UTC)
        if spec.type in (FieldType.NUMBER, FieldType.INTEGER):
            bound = _column_bound("==", _number(value.value), _QUANTUM[spec.name])
            if isinstance(bound, bool):
                return None
            if spec.name == "total" and not -MAX_TOTAL < bound[1] < MAX_TOTAL:
                return None  # no stored total equals it
            return bound[1] if spec.type is FieldType.NUMBER else int(bound[1])
        return value.value

    def _column_compare(self, spec: FieldSpec, op: CompareOp, value: Literal) -> Clause:
        column: ColumnElement[Any] = FIELD_COLUMNS[spec.name]
        if spec.type in (FieldType.NUMBER, FieldType.INTEGER):
            bound = _column_bound(op, _number(value.value), _QUANTUM[spec.name])
            if isinstance(bound, bool):
                return true() if bound else false()
            op, limit = bound
            if spec.name == "total":
                limit = _clamp_total(limit)
            return _apply(op, column, limit if spec.type is FieldType.NUMBER else int(limit))
        if spec.type is FieldType.STRING and op not in ("==", "!="):
            return _apply(op, Bytewise(column), literal(value.value, String()))
        return _apply(op, column, self._column_value(spec, value))

    # -- age: now - placed_at OP duration  <=>  placed_at OP' now - duration

    def _age(self, node: Condition) -> Clause:
        placed_at = orders.c.placed_at
        if isinstance(node, InList):
            cutoffs = [c for c in (self._cutoff(v) for v in node.values) if c is not None]
            found = placed_at.in_(cutoffs) if cutoffs else false()
            return not_(found) if node.negated else found
        assert isinstance(node, Compare)
        duration = node.value.value
        assert isinstance(duration, timedelta)
        cutoff = self._cutoff(node.value)
        if cutoff is None:
            # now - duration is outside the datetime range: every order is on one side of it.
            age_is_less = duration > timedelta(0)
            holds = {
                "==": False,
                "!=": True,
                "<": age_is_less,
                "<=": age_is_less,
                ">": not age_is_less,
                ">=": not age_is_less,
            }[node.op]
            return true() if holds else false()
        return _apply(_FLIPPED[node.op], placed_at, cutoff)

    def _cutoff(self, value: Literal) -> datetime | None:
        assert isinstance(value.value, timedelta)
        try:
            return self.now - value.value
        except OverflowError:
            return None

    # -- attributes.<key>: JSON, typed per literal, wrong types are NULL

    def _attribute(self, key: str, node: Condition) -> tuple[Clause, bool]:
        source = orders.c.attributes
        name = bindparam(None, key, type_=String())
        text, number, flag = (
            JsonText(source, name),
            JsonNumber(source, name),
            JsonBool(source, name),
        )
        if isinstance(node, Compare):
            value = node.value.value
            op: CompareOp = "==" if node.op == "!=" else node.op
            positive: Clause
            if isinstance(value, bool):
                positive = flag == int(value)  # `is`: only a JSON boolean equals true/false
            elif isinstance(value, str):
                left = text if op in ("==", "!=") else Bytewise(text)
                positive = _apply(op, left, literal(value, String()))
            else:
                positive = _double_compare(op, number, _number(value))
            if node.op == "!=":
                return _negate(positive, True), False
            return positive, True
        if isinstance(node, InList):
            strings = [str(v.value) for v in node.values if v.kind == "string"]
            # `in` uses ==, where true == 1 and false == 0: booleans go to the number view.
            numbers = [
                Decimal(int(v.value)) if isinstance(v.value, bool) else _number(v.value)
                for v in node.values
                if v.kind != "string"
            ]
            doubles = sorted({float(n) for n in numbers if Decimal(float(n)) == n})
            parts: list[Clause] = []
            if strings:
                parts.append(text.in_(strings))
            if doubles:
                parts.append(number.in_(doubles))
            positive = or_(*parts) if parts else false()
            return (_negate(positive, True), False) if node.negated else (positive, True)
        if isinstance(node, Contains):
            found = Found(text, literal(str(node.value.value), String()))
            return (_negate(found, True), False) if node.negated else (found, True)
        assert isinstance(node, Matches)
        return text.regexp_match(str(node.pattern.value)), True


def _double_compare(op: CompareOp, number: ColumnElement[Any], value: Decimal) -> Clause:
    bound = _double_bound(op, value)
    if isinstance(bound, bool):
        return true() if bound else false()
    return _apply(bound[0], number, literal(bound[1], Float()))


def _negate(clause: Clause, nullable: bool) -> Clause:
    """Plain boolean negation: NULL (a missing value) counts as false before it is negated."""
    if nullable:
        coalesced: Clause = func.coalesce(clause, false(), type_=Boolean())
        return not_(coalesced)
    return not_(clause)


def _set_contains(field: str, value: str) -> Clause:
    if field == "tags":
        query = select(order_tags.c.order_id).where(
            order_tags.c.order_id == orders.c.id, order_tags.c.tag == value
        )
    else:
        query = select(order_lines.c.order_id).where(
            order_lines.c.order_id == orders.c.id, order_lines.c.sku == value
        )
    return query.exists()
