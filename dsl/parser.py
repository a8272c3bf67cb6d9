"""Rule text -> syntax tree (dsl.syntax). Every failure is a :class:`DslSyntaxError`.

Any text parses in bounded time and memory: the bounds of :mod:`dsl.limits` (rule length,
condition nesting and size, number and duration magnitudes) are checked before anything recurses
over the tree or converts a number, and the tree is built without recursing along ``and``/``or``
chains.

The grammar lives in ``grammar.lark``. The parser is built once, lazily, on first use; lark's
grammar cache (a file in the user's cache directory, see ``dsl.grammar.cache_file``, keyed by
the grammar's hash) makes later processes start faster, and lark silently carries on when that
file cannot be written.
"""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import cast

from lark import Token, Tree
from lark.exceptions import UnexpectedInput

from dsl.errors import DslSyntaxError, shorten
from dsl.grammar import lark_parser
from dsl.limits import (
    MAX_CONDITION_DEPTH,
    MAX_CONDITION_TERMS,
    MAX_DURATION,
    MAX_NUMBER_DIGITS,
    MAX_RULE_LENGTH,
    MAX_TAG_LENGTH,
)
from dsl.syntax import (
    Action,
    And,
    Compare,
    CompareOp,
    Condition,
    Contains,
    CronTrigger,
    DailyTrigger,
    EventName,
    EventTrigger,
    EveryTrigger,
    FieldRef,
    InList,
    Literal,
    Matches,
    Not,
    Or,
    OrderKey,
    Rule,
    Trigger,
)
from dsl.syntax_errors import syntax_error


def parse_rule(text: str) -> Rule:
    """Parse one rule (SPEC §7). Raises :class:`DslSyntaxError` with position, expected, hint."""
    if len(text) > MAX_RULE_LENGTH:
        raise DslSyntaxError(
            f"the rule is {len(text):,} characters long; at most {MAX_RULE_LENGTH:,}",
            line=1,
            column=1,
            hint="split it into several rules",
        )
    _refuse_unstorable(text)
    try:
        tree = lark_parser().parse(text)
    except UnexpectedInput as exc:
        raise syntax_error(text, exc) from None
    _check_shape(tree)
    return _Builder(text).rule(tree)


#: What no database's text can hold: NUL, and lone UTF-16 surrogates (YAML's "\0", "\ud800").
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _refuse_unstorable(text: str) -> None:
    """A NUL or a lone surrogate (a double-quoted YAML escape can make either) is refused
    where it stands: in a string it reached the database, and on PostgreSQL every tick of
    the rule file failed on it, while `rules check` said ok."""
    found = _UNSTORABLE.search(text)
    if found is None:
        return
    line = text.count("\n", 0, found.start()) + 1
    column = found.start() - (text.rfind("\n", 0, found.start()) + 1) + 1
    what = "a NUL character" if found.group() == "\x00" else "a lone UTF-16 surrogate"
    raise DslSyntaxError(
        f"the rule contains {what}, which no value can hold",
        line=line,
        column=column,
        hint="remove it (in YAML, a double-quoted string's \\0 or \\u escape makes one)",
    )


_CONNECTIVES = ("or_expr", "and_expr", "not_expr")


def _check_shape(tree: Tree[Token]) -> None:
    """Enforce MAX_CONDITION_DEPTH and MAX_CONDITION_TERMS without recursing (see dsl.limits)."""
    clauses = [c for c in tree.children if isinstance(c, Tree) and c.data == "condition_clause"]
    if not clauses:
        return
    clause = clauses[0]
    terms = 0
    stack: list[tuple[Tree[Token], int, str]] = [(cast(Tree[Token], clause.children[0]), 0, "")]
    while stack:
        node, depth, parent = stack.pop()
        if node.data not in _CONNECTIVES:
            terms += 1
            continue
        if node.data == "not_expr" or node.data != parent:
            depth += 1
        if depth > MAX_CONDITION_DEPTH:
            raise DslSyntaxError(
                f"the condition is nested more than {MAX_CONDITION_DEPTH} levels deep",
                line=node.meta.line,
                column=node.meta.column,
                hint="each `not` and each switch between `and` and `or` is a level; "
                "simplify the condition or split the rule",
            )
        stack.extend((kid, depth, str(node.data)) for kid in node.children if isinstance(kid, Tree))
    if terms > MAX_CONDITION_TERMS:
        raise DslSyntaxError(
            f"the condition has {terms:,} comparisons; at most {MAX_CONDITION_TERMS}",
            line=clause.meta.line,
            column=clause.meta.column,
            hint='use `in [...]` for many values of one field, e.g. channel in ["a", "b"]',
        )


# ---- tree -> dataclasses ------------------------------------------------------------------

_UNIT_SECONDS = {"minutes": 60, "hours": 3600, "days": 86400, "weeks": 604800}


def _duration_fits(number: str, unit: str) -> bool:
    try:
        seconds = abs(Decimal(number)) * _UNIT_SECONDS[unit]
    except (InvalidOperation, KeyError):
        return False
    return seconds <= Decimal(MAX_DURATION.days * 86400)


def _chain_operands(tree: Tree[Token]) -> list[Tree[Token]]:
    """The operands of a chain of one connective (``a or b or c``), left to right, iteratively."""
    operands: list[Tree[Token]] = []
    stack = [tree]
    while stack:
        node = stack.pop()
        if node.data == tree.data:
            stack.extend(reversed([kid for kid in node.children if isinstance(kid, Tree)]))
        else:
            operands.append(node)
    return operands


def _unquote(token: Token) -> str:
    # The STRING terminal allows backslash escapes of any character: \" and \\ are the useful
    # ones; anything else stands for itself (so regexes like "\d+" keep their backslash).
    body = str(token)[1:-1]
    return re.sub(r'\\(["\\])', r"\1", body)


_UNIT_TO_PLURAL = {"minute": "minutes", "hour": "hours", "day": "days", "week": "weeks"}


class _Builder:
    """Turns lark's tree into dsl.syntax nodes, validating what the grammar cannot express."""

    def __init__(self, text: str) -> None:
        self.text = text

    def rule(self, tree: Tree[Token]) -> Rule:
        trigger = self.trigger(cast(Tree[Token], tree.children[0]))
        condition: Condition | None = None
        actions: tuple[Action, ...] = ()
        order_by: tuple[OrderKey, ...] = ()
        for child in tree.children[1:]:
            assert isinstance(child, Tree)
            if child.data == "condition_clause":
                condition = self.condition(cast(Tree[Token], child.children[0]))
            elif child.data == "actions":
                actions = tuple(self.action(cast(Tree[Token], a)) for a in child.children)
            elif child.data == "order_clause":
                order_by = tuple(self.order_key(cast(Tree[Token], k)) for k in child.children)
        return Rule(trigger, condition, actions, order_by, line=1, column=1)

    # triggers
    def trigger(self, tree: Tree[Token]) -> Trigger:
        line, column = tree.meta.line, tree.meta.column
        kids = tree.children
        if tree.data == "when_trigger":
            event = cast(Tree[Token], kids[0])
            name = cast(EventName, str(event.data).replace("_", " "))
            channels: tuple[str, ...] | None = None
            if len(kids) > 1:
                filt = cast(Tree[Token], kids[1]).children[0]
                if isinstance(filt, Token):
                    channels = (_unquote(filt),)
                else:
                    channels = tuple(_unquote(cast(Token, t)) for t in filt.children)
            return EventTrigger(name, channels, line=line, column=column)
        if tree.data == "every_trigger":
            unit_tok = cast(Token, cast(Tree[Token], kids[1]).children[0])
            unit = _UNIT_TO_PLURAL.get(str(unit_tok), str(unit_tok))
            amount_tok = cast(Token, kids[0])
            if len(str(amount_tok).lstrip("-").lstrip("0")) > MAX_NUMBER_DIGITS:
                raise self._error(
                    f"`every {shorten(amount_tok)} {unit}` is too long an interval",
                    amount_tok,
                    hint="at most ten years; for rare dates use cron",
                )
            amount = int(amount_tok)
            if amount < 0:
                raise self._error("the interval cannot be negative", kids[0])
            return EveryTrigger(amount, unit, line=line, column=column)  # type: ignore[arg-type]
        if tree.data == "daily_trigger":
            tok = cast(Token, kids[0])
            hour, minute = (int(p) for p in str(tok).split(":"))
            if hour > 23 or minute > 59:
                raise self._error(
                    f"`{tok}` is not a time of day", tok, hint="use 24-hour HH:MM, 00:00 to 23:59"
                )
            return DailyTrigger(hour, minute, line=line, column=column)
        tok = cast(Token, kids[0])
        return CronTrigger(
            _unquote(tok),
            line=line,
            column=column,
            expr_line=tok.line or line,
            expr_column=tok.column or column,
        )

    def _error(
        self, message: str, at: Token | Tree[Token], hint: str | None = None
    ) -> DslSyntaxError:
        if isinstance(at, Token):
            return DslSyntaxError(
                message, line=at.line or 1, column=at.column or 1, text=str(at), hint=hint
            )
        return DslSyntaxError(message, line=at.meta.line, column=at.meta.column, hint=hint)

    # conditions
    def condition(self, tree: Tree[Token]) -> Condition:
        line, column = tree.meta.line, tree.meta.column
        kids = [c for c in tree.children if isinstance(c, Tree)]
        data = tree.data
        if data in ("or_expr", "and_expr"):
            items: list[Condition] = []
            kind = Or if data == "or_expr" else And
            # Flatten a or b or c into one node: the linter and the compiler want n-ary. A chain
            # can be long (MAX_CONDITION_TERMS), so walk it with a stack, not by recursion.
            for kid in _chain_operands(tree):
                sub = self.condition(kid)
                items.extend(sub.items if isinstance(sub, kind) else (sub,))
            return kind(tuple(items), line=line, column=column)
        if data == "not_expr":
            return Not(self.condition(kids[0]), line=line, column=column)
        field = self.field(kids[0])
        if data == "compare":
            op = cast(CompareOp, str(tree.children[1]))
            return Compare(field, op, self.value(kids[1]), line=line, column=column)
        if data in ("in_list", "not_in_list"):
            values = tuple(self.value(cast(Tree[Token], v)) for v in kids[1].children)
            return InList(field, values, data == "not_in_list", line=line, column=column)
        if data in ("contains", "not_contains"):
            value = self.value(kids[1])
            return Contains(field, value, data == "not_contains", line=line, column=column)
        # matches
        tok = cast(Token, tree.children[1])
        pattern = Literal(_unquote(tok), "string", line=tok.line or 1, column=tok.column or 1)
        return Matches(field, pattern, line=line, column=column)

    def field(self, tree: Tree[Token]) -> FieldRef:
        tok = cast(Token, tree.children[0])
        return FieldRef(str(tok), line=tok.line or 1, column=tok.column or 1)

    def value(self, tree: Tree[Token]) -> Literal:
        line, column = tree.meta.line, tree.meta.column
        data = tree.data
        if data == "string_value":
            return Literal(_unquote(cast(Token, tree.children[0])), "string", line, column)
        if data == "true_value":
            return Literal(True, "boolean", line, column)
        if data == "false_value":
            return Literal(False, "boolean", line, column)
        number_tok = cast(Token, tree.children[0])
        number = str(number_tok)
        if data == "number_value":
            if len(number.lstrip("-").split(".")[0].lstrip("0")) > MAX_NUMBER_DIGITS:
                raise self._error(
                    f"`{shorten(number)}` is too large a number",
                    number_tok,
                    hint=f"numbers in rules have at most {MAX_NUMBER_DIGITS} digits before the "
                    "decimal point",
                )
            value: int | Decimal = Decimal(number) if "." in number else int(number)
            return Literal(value, "number", line, column)
        unit_tok = str(cast(Tree[Token], tree.children[1]).children[0])
        unit = _UNIT_TO_PLURAL.get(unit_tok, unit_tok)
        if not _duration_fits(number, unit):
            raise self._error(
                f"`{shorten(number)} {unit_tok}` is too long a duration",
                number_tok,
                hint=f"at most {MAX_DURATION.days:,} days (one hundred years)",
            )
        return Literal(timedelta(**{unit: float(number)}), "duration", line, column)

    # actions and ordering
    def action(self, tree: Tree[Token]) -> Action:
        line, column = tree.meta.line, tree.meta.column
        data = str(tree.data)
        if data in ("tag", "untag"):
            tag = self._tag(cast(Token, tree.children[0]))
            return Action(data, tag=tag, line=line, column=column)  # type: ignore[arg-type]
        policies = {
            "allocate": "lines",
            "allocate_by_line": "lines",
            "allocate_by_unit": "units",
            "allocate_all_or_nothing": "all_or_nothing",
            "reallocate": "lines",
        }
        if data in policies:
            kind = "reallocate" if data == "reallocate" else "allocate"
            where, places = self._warehouses(tree.children[0]) if tree.children else (None, ())
            return Action(
                kind,  # type: ignore[arg-type]
                policy=policies[data],  # type: ignore[arg-type]
                warehouses=where,
                line=line,
                column=column,
                warehouse_places=places,
            )
        return Action(data, line=line, column=column)  # type: ignore[arg-type]

    def _tag(self, tok: Token) -> str:
        """A tag an order can hold: not blank, not padded (imports and `dibs orders tag` trim
        tags), and at most `MAX_TAG_LENGTH` characters."""
        tag = _unquote(tok)
        if not tag.strip():
            raise self._error(f"tag {shorten(tok)} is empty", tok)
        if tag != tag.strip():
            raise self._error(
                f"tag {shorten(tok)} starts or ends with a space",
                tok,
                hint=f'tags are trimmed everywhere else: write "{shorten(tag.strip())}"',
            )
        if len(tag) > MAX_TAG_LENGTH:
            raise self._error(
                f"tag {shorten(tok)} is {len(tag):,} characters long; a tag has at most "
                f"{MAX_TAG_LENGTH}",
                tok,
            )
        return tag

    def _warehouses(
        self, node: Tree[Token] | Token
    ) -> tuple[tuple[str, ...], tuple[tuple[int, int], ...]]:
        """`from "east"` / `from ["east", "west"]`: names given once each, none empty; with
        the (line, column) of each name (a warning about one points at it)."""
        found = cast(Tree[Token], node).children[0]
        tokens = [found] if isinstance(found, Token) else cast(list[Token], found.children)
        names: list[str] = []
        for tok in tokens:
            name = _unquote(tok)
            if not name.strip() or name in names:
                why = "is listed twice" if name in names else "is empty"
                raise self._error(f"warehouse {shorten(tok)} {why}", tok)
            names.append(name)
        return tuple(names), tuple((tok.line or 1, tok.column or 1) for tok in tokens)

    def order_key(self, tree: Tree[Token]) -> OrderKey:
        field = self.field(cast(Tree[Token], tree.children[0]))
        descending = False
        if len(tree.children) > 1:
            direction = cast(Tree[Token], tree.children[1])
            descending = str(direction.children[0]) == "desc"
        return OrderKey(field, descending, line=tree.meta.line, column=tree.meta.column)
