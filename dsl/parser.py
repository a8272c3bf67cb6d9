"""Rule text -> syntax tree (dsl.syntax). Every failure is a :class:`DslSyntaxError`.

Any text parses in bounded time and memory: the bounds of :mod:`dsl.limits` (rule length,
condition nesting and size, number and duration magnitudes) are checked before anything recurses
over the tree or converts a number, and the tree is built without recursing along ``and``/``or``
chains.

The grammar lives in ``grammar.lark``. The parser is built once, lazily, on first use; lark's
grammar cache (``cache=True``, a file in the temp directory keyed by the grammar's hash) makes
later processes start faster, and lark silently carries on when that file cannot be written.
"""

from __future__ import annotations

import difflib
import functools
import importlib.util
import re
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, cast

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken
from lark.lexer import PatternStr

from dsl.errors import DslSyntaxError, shorten
from dsl.limits import (
    MAX_CONDITION_DEPTH,
    MAX_CONDITION_TERMS,
    MAX_DURATION,
    MAX_NUMBER_DIGITS,
    MAX_RULE_LENGTH,
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

_GRAMMAR = Path(__file__).with_name("grammar.lark")

# Words for the named terminals; keyword terminals are described by their literal text.
_TERMINAL_WORDS = {
    "STRING": "a string in double quotes",
    "NUMBER": "a number",
    "INT": "a number",
    "TIME": "a time of day (HH:MM)",
    "FIELD": "a field name",
    "COMP_OP": "a comparison (==, !=, <, <=, >, >=)",
    "$END": "the end of the rule",
}


@functools.cache
def _parser() -> Lark:
    """Build the LALR parser once per process.

    ``strict`` needs the optional ``interegular`` package (``lark[interegular]``); without it we
    still parse correctly, only the build-time check for colliding terminals is skipped.
    """
    strict = importlib.util.find_spec("interegular") is not None
    return Lark(
        _GRAMMAR.read_text(encoding="utf-8"),
        parser="lalr",
        strict=strict,
        propagate_positions=True,
        maybe_placeholders=False,
        cache=True,
    )


@functools.cache
def _terminal_words() -> dict[str, str]:
    words = dict(_TERMINAL_WORDS)
    for term in _parser().terminals:
        if term.name not in words and isinstance(term.pattern, PatternStr):
            words[term.name] = f'"{term.pattern.value}"'
    return words


@functools.cache
def _keywords() -> frozenset[str]:
    """The grammar's keywords, read from its literal terminals so the list cannot drift."""
    return frozenset(
        term.pattern.value
        for term in _parser().terminals
        if isinstance(term.pattern, PatternStr) and term.pattern.value.isalpha()
    )


def parse_rule(text: str) -> Rule:
    """Parse one rule (SPEC §7). Raises :class:`DslSyntaxError` with position, expected, hint."""
    if len(text) > MAX_RULE_LENGTH:
        raise DslSyntaxError(
            f"the rule is {len(text):,} characters long; at most {MAX_RULE_LENGTH:,}",
            line=1,
            column=1,
            hint="split it into several rules",
        )
    try:
        tree = _parser().parse(text)
    except UnexpectedInput as exc:
        raise _syntax_error(text, exc) from None
    _check_shape(tree)
    return _Builder(text).rule(tree)


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


# ---- errors ---------------------------------------------------------------------------------


def _describe_expected(names: set[str] | frozenset[str]) -> tuple[str, ...]:
    words = _terminal_words()
    return tuple(sorted({words.get(name, name.lower()) for name in names}))


def _end_position(text: str) -> tuple[int, int]:
    lines = text.split("\n")
    return len(lines), len(lines[-1]) + 1


def _word_at(text: str, pos: int) -> str:
    match = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*|\S").match(text, pos)
    return match.group(0) if match else ""


def _syntax_error(text: str, exc: UnexpectedInput) -> DslSyntaxError:
    if isinstance(exc, UnexpectedCharacters):
        start = exc.pos_in_stream or 0
        if start > 0 and _is_word_char(text[start - 1]) and _is_word_char(text[start]):
            # The lexer matched a keyword prefix ("line" of "lines"): report the whole word, and
            # what the parser accepted before it.
            return _word_error(text, _word_start(text, start))
        offending = _word_at(text, start)
        # The lexer's "allowed" set comes from a merged LALR state and can list terminals that
        # are not valid here; ask the parser what it really accepts at this point.
        names = set(exc.allowed or ())
        interactive = getattr(exc, "interactive_parser", None)
        if interactive is not None:
            names = _accepts(interactive) or names
        expected = _describe_expected(names)
        line, column = exc.line, exc.column
    elif isinstance(exc, UnexpectedToken) and exc.token.type != "$END":
        start = exc.token.start_pos or 0
        if start > 0 and _is_word_char(text[start - 1]):
            return _word_error(text, _word_start(text, start))
        offending = str(exc.token)
        expected = _describe_expected(set(exc.accepts or exc.expected))
        line, column = exc.token.line or 1, exc.token.column or 1
    else:
        # Unexpected end of input: point just past the last character.
        if isinstance(exc, UnexpectedEOF):
            names = {str(n) for n in exc.expected}
        else:
            token_exc = cast(UnexpectedToken, exc)
            names = set(token_exc.accepts or token_exc.expected)
        offending = ""
        expected = _describe_expected(set(names))
        line, column = _end_position(text.rstrip())
    offending = shorten(offending)
    shown = f"`{offending}`" if offending else "end of rule"
    message = f"unexpected {shown}"
    if expected:
        message += f", expected {_join_words(expected)}"
    return DslSyntaxError(
        message,
        line=line,
        column=column,
        text=offending,
        expected=expected,
        hint=_hint(text, offending, expected),
    )


def _accepts(interactive: Any) -> set[str]:
    # lark's InteractiveParser.accepts is untyped; it returns terminal names.
    return {str(name) for name in interactive.accepts()}


def _is_word_char(char: str) -> bool:
    return char.isalnum() or char == "_"


def _word_start(text: str, pos: int) -> int:
    while pos > 0 and _is_word_char(text[pos - 1]):
        pos -= 1
    return pos


def _word_error(text: str, start: int) -> DslSyntaxError:
    word = shorten(_word_at(text, start))
    names: set[str] = set()
    try:
        interactive = _parser().parse_interactive(text[:start])
        interactive.exhaust_lexer()
        names = _accepts(interactive)
    except UnexpectedInput:
        pass
    expected = _describe_expected(names)
    line = text.count("\n", 0, start) + 1
    column = start - (text.rfind("\n", 0, start) + 1) + 1
    message = f"unexpected `{word}`"
    if expected:
        message += f", expected {_join_words(expected)}"
    close = difflib.get_close_matches(word, [w.strip('"') for w in expected], n=1)
    hint = f"did you mean `{close[0]}`?" if close else _hint(text, word, expected)
    return DslSyntaxError(
        message, line=line, column=column, text=word, expected=expected, hint=hint
    )


def _join_words(words: tuple[str, ...]) -> str:
    if len(words) == 1:
        return words[0]
    return ", ".join(words[:-1]) + " or " + words[-1]


def _hint(text: str, offending: str, expected: tuple[str, ...]) -> str | None:
    """Recognise the common slips (taken from other rule languages) and say how to write them."""
    if offending.startswith("'"):
        return 'strings need double quotes, e.g. "like this"'
    if offending == '"':
        return "close the string with a double quote on the same line"
    if offending == "=":
        return "use == to compare"
    if offending in ("&", "|", "!"):
        return "use `and`, `or` and `not`"
    if offending.lower() in _keywords() and offending != offending.lower():
        return f"keywords are lowercase: write `{offending.lower()}`"
    if "a string in double quotes" in expected and re.fullmatch(r"[A-Za-z_][\w.-]*", offending):
        return f'put text in double quotes: "{offending}"'
    if expected == ('"then"',) or ('"then"' in expected and offending in ("do", ":")):
        return "actions follow the word `then`"
    if offending == "" and not text.strip():
        return 'a rule looks like: when new order if channel == "shopify" then allocate'
    return None


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
            tag = _unquote(cast(Token, tree.children[0]))
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
            where = self._warehouses(tree.children[0]) if tree.children else None
            return Action(kind, policy=policies[data], warehouses=where, line=line, column=column)  # type: ignore[arg-type]
        return Action(data, line=line, column=column)  # type: ignore[arg-type]

    def _warehouses(self, node: Tree[Token] | Token) -> tuple[str, ...]:
        """`from "east"` / `from ["east", "west"]`: names given once each, none empty."""
        found = cast(Tree[Token], node).children[0]
        tokens = [found] if isinstance(found, Token) else cast(list[Token], found.children)
        names: list[str] = []
        for tok in tokens:
            name = _unquote(tok)
            if not name.strip() or name in names:
                why = "is listed twice" if name in names else "is empty"
                raise self._error(f"warehouse {shorten(tok)} {why}", tok)
            names.append(name)
        return tuple(names)

    def order_key(self, tree: Tree[Token]) -> OrderKey:
        field = self.field(cast(Tree[Token], tree.children[0]))
        descending = False
        if len(tree.children) > 1:
            direction = cast(Tree[Token], tree.children[1])
            descending = str(direction.children[0]) == "desc"
        return OrderKey(field, descending, line=tree.meta.line, column=tree.meta.column)
