"""Condition -> fast Python predicate ``pred(order, now) -> bool``.

The condition is turned into the source of one Python function, compiled once; evaluating it for
an order is a plain function call, with no tree walk. Field reads come from the vocabulary's
expression templates (``FieldSpec.expr``, over the names ``o`` and ``now``).

Semantics, shared with the SQL filter (engine.sqlfilter) and relied on by rule authors:

* **Missing values.** A missing value (None) never satisfies ``==``, ``<``, ``<=``, ``>``, ``>=``,
  ``in``, ``contains`` or ``matches``; it does satisfy ``!=``, ``not in`` and ``not contains``.
  So ``shipping_method != "ground"`` is true for an order without a shipping method.
  ``not`` is plain boolean negation of the result: ``not (total > 5)`` is true when total is
  missing.
* **Strings** compare case-sensitively (``==`` and lexicographic ``<``).
* **Regexes** use :func:`re.search` semantics: the pattern may match anywhere in the value; anchor
  it with ``^``/``$`` to match the whole value. Only text values can match. They run on RE2
  (:mod:`dsl.regex`): linear time for any pattern, no backreferences or lookaround, and ``\\d``,
  ``\\w``, ``\\s``, ``\\b`` are ASCII-only.
* **contains** tests membership on sets (``tags``, ``skus``) and substring on text.
* **attributes.<key>** values have no declared type: a comparison whose operand types do not fit
  (``attributes.x > 5`` when x is ``"abc"``) is false, never an error.
* **age** is ``now - placed_at`` and is compared with durations.
"""

from __future__ import annotations

import builtins
import operator
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from dsl.regex import compile_regex
from dsl.syntax import (
    And,
    Compare,
    Condition,
    Contains,
    FieldRef,
    InList,
    Literal,
    Matches,
    Not,
    Or,
)
from dsl.types import (
    FieldSpec,
    FieldType,
    Vocabulary,
    check_condition,
    parse_datetime_literal,
    resolve_field,
)

Predicate = Callable[[Any, datetime], bool]
Getter = Callable[[Any, datetime], Any]

_PY_OPS = {"==": "==", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_OPERATOR_FUNCS: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def _loose_order(op: str) -> Callable[[Any, Any], bool]:
    """An ordering comparison that is false instead of raising when the types do not fit."""
    func = _OPERATOR_FUNCS[op]

    def compare(left: Any, right: Any) -> bool:
        try:
            return bool(func(left, right))
        except TypeError:
            return False

    return compare


def compile_condition(condition: Condition | None, vocabulary: Vocabulary) -> Predicate:
    """Compile a condition once into ``pred(order, now) -> bool``.

    A missing condition (a rule without ``if``) matches every order. The condition is type-checked
    first; the first problem is raised as :class:`dsl.errors.DslTypeError`.
    """
    source, namespace = predicate_source(condition, vocabulary)
    code = compile(source, "<dibs rule condition>", "exec")
    exec(code, namespace)  # the source is generated from a checked tree, never from user text
    predicate: Predicate = namespace["_predicate"]
    return predicate


def predicate_source(
    condition: Condition | None, vocabulary: Vocabulary
) -> tuple[str, dict[str, Any]]:
    """The generated Python source of a condition's predicate and the constants it uses.

    Useful to see what a rule compiles to; :func:`compile_condition` executes exactly this.
    """
    errors = check_condition(condition, vocabulary)
    if errors:
        raise errors[0]
    gen = _Generator(vocabulary)
    body = "True" if condition is None else gen.expr(condition)
    source = f"def _predicate(o, now):\n    return {body}\n"
    return source, gen.namespace


def compile_getter(field_name: str, vocabulary: Vocabulary) -> Getter:
    """A function reading one field from an order (used for ``order by`` keys)."""
    spec = resolve_field(FieldRef(field_name), vocabulary)
    namespace: dict[str, Any] = {}
    exec(compile(f"def _get(o, now):\n    return {spec.expr}\n", "<dibs field>", "exec"), namespace)
    getter: Getter = namespace["_get"]
    return getter


class _Generator:
    """Emits one Python expression per condition node."""

    def __init__(self, vocabulary: Vocabulary) -> None:
        self.vocabulary = vocabulary
        # Field templates come from the vocabulary and may call any builtin (len, sum, ...).
        self.namespace: dict[str, Any] = {"__builtins__": builtins}
        self._counter = 0

    def _name(self, prefix: str) -> str:
        self._counter += 1
        return f"_{prefix}{self._counter}"

    def _const(self, value: Any) -> str:
        # Strings, ints and bools are inlined (fastest); anything else goes into the namespace.
        if isinstance(value, bool | int | str) and not isinstance(value, Decimal):
            return repr(value)
        name = self._name("k")
        self.namespace[name] = value
        return name

    def _literal_value(self, spec: FieldSpec, literal: Literal) -> Any:
        if spec.type is FieldType.DATETIME:
            return parse_datetime_literal(str(literal.value))
        return literal.value

    def expr(self, node: Condition) -> str:
        if isinstance(node, And):
            return "(" + " and ".join(self.expr(i) for i in node.items) + ")"
        if isinstance(node, Or):
            return "(" + " or ".join(self.expr(i) for i in node.items) + ")"
        if isinstance(node, Not):
            return f"(not {self.expr(node.item)})"
        spec = resolve_field(node.field, self.vocabulary)
        if isinstance(node, Compare):
            return self._compare(spec, node)
        if isinstance(node, InList):
            values = frozenset(self._literal_value(spec, v) for v in node.values)
            op = "not in" if node.negated else "in"
            # None is never in the set: so `in` is false and `not in` true for missing values.
            return f"({spec.expr} {op} {self._const(values)})"
        if isinstance(node, Contains):
            return self._contains(spec, node)
        return self._matches(spec, node)

    def _compare(self, spec: FieldSpec, node: Compare) -> str:
        value = self._literal_value(spec, node.value)
        if node.op in ("==", "!="):
            if isinstance(value, bool):
                # `is` keeps 1 and 1.0 from equalling true, and None satisfies != true.
                op = "is" if node.op == "==" else "is not"
                return f"({spec.expr} {op} {value!r})"
            # Python's == already gives the null semantics: None == x is false, None != x true.
            return f"({spec.expr} {node.op} {self._const(value)})"
        const = self._const(value)
        if spec.type is FieldType.SCALAR:
            func = self._name("cmp")
            self.namespace[func] = _loose_order(node.op)
            var = self._name("v")
            return f"(({var} := {spec.expr}) is not None and {func}({var}, {const}))"
        if not spec.nullable:
            return f"({spec.expr} {_PY_OPS[node.op]} {const})"
        var = self._name("v")
        return f"(({var} := {spec.expr}) is not None and {var} {_PY_OPS[node.op]} {const})"

    def _contains(self, spec: FieldSpec, node: Contains) -> str:
        const = self._const(node.value.value)
        if spec.type is FieldType.STRING_SET:
            op = "not in" if node.negated else "in"
            return f"({const} {op} {spec.expr})"
        var = self._name("v")
        found = f"(isinstance(({var} := {spec.expr}), str) and {const} in {var})"
        return f"(not {found})" if node.negated else found

    def _matches(self, spec: FieldSpec, node: Matches) -> str:
        search = self._name("re")
        self.namespace[search] = compile_regex(str(node.pattern.value))
        var = self._name("v")
        return f"(isinstance(({var} := {spec.expr}), str) and {search}({var}))"
