"""Rule files (SPEC §6): YAML with positions -> schema -> rule language -> RuleSet.

Every problem of a file is collected into one list of :class:`Diagnostic`, each at the
``file:line:column`` a user has to edit:

* YAML is read with PyYAML's safe loader, as a node tree that keeps marks; duplicate keys are
  refused (PyYAML silently keeps the last one); timestamps stay strings so the schema sees what
  the user wrote.
* JSON Schema errors are placed on the offending node (on the offending key for unknown keys).
* Rule-string errors are translated from the rule text into the file. Plain scalars on one line,
  literal blocks (``|``) and quoted scalars without escapes map exactly; for folded blocks
  (``>``), multi-line plain scalars and quoted scalars with escapes the mapping aligns the
  value's characters with the source and is exact except right at folded line breaks and escape
  sequences (best effort: the error then points at the nearest source character).

Hostile input. A rule file is user input that ``dibs run`` reloads while it runs, so checking any
file takes bounded time and memory, and every problem is a :class:`Diagnostic` (``load_ruleset``
raises :class:`RuleFileError` and nothing else; ``check_ruleset`` never raises). The bounds:

* **Aliases are refused.** ``*name`` anywhere in a rule file is an error at the alias: a 500-byte
  file of nested aliases expands to billions of values (the "billion laughs"), and a rule file has
  nothing worth sharing that cannot be written out. Anchors alone (``&name``) are harmless and
  allowed.
* :data:`MAX_FILE_BYTES` (1 MiB; real rule files are a few KB) bounds the scanning time of
  PyYAML (pure Python: ~1.5 s for 1 MiB), :data:`MAX_NODES` (60,000 values; PyYAML composes
  ~25,000 a second) and :data:`MAX_RULES` (5,000, the size ``rules check`` is benchmarked to
  check in under 5 s: tests/bench/bench_rules_check.py) the work after it; at most
  :data:`MAX_SCHEMA_ERRORS` schema errors are collected. :data:`MAX_DEPTH` (32 levels of
  nesting; rule files use 6) keeps every walk over the tree, PyYAML's own included, far from
  Python's recursion limit.
* Integers have at most :data:`MAX_INT_CHARS` characters (Python refuses to convert more than
  4,300 digits, and nothing in a rule file needs more than 18); ``.inf``/``.nan`` and floats too
  large to be finite are refused; the schema bounds priorities and quantities.
* Strings may not contain lone surrogates (``"\\ud800"``): they cannot be encoded as UTF-8, so
  they could be neither printed nor stored.
* Date-times must have a UTC equivalent (``0001-01-01T00:00:00+01:00`` has none).
* Rule texts obey :mod:`dsl.limits`; regexes are checked with RE2 (:mod:`dsl.regex`).
* Messages quote user values cut to 60 characters (:func:`dsl.errors.shorten`); at most
  :data:`MAX_SHOWN` errors and as many warnings are listed, then a count of the rest.
"""

from __future__ import annotations

import difflib
import hashlib
import itertools
import json
import math
import os
import re
import stat
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, cast

import jsonschema
import yaml

from dsl.compile import compile_condition
from dsl.errors import DslError, shorten
from dsl.parser import parse_rule
from dsl.syntax import CronTrigger, Rule
from dsl.types import check_rule, datetime_literal_problem
from rules.cron import CronError, parse_cron
from rules.errors import Diagnostic, RuleFileError, Severity
from rules.ruleset import CompiledRule, RuleSet, RuleTest, lint, order_rules
from rules.vocabulary import ORDER_VOCABULARY

_CRON_HINT = 'five fields: minute hour day-of-month month day-of-week, e.g. "0 2 * * 1"'
SCHEMA_PATH = Path(__file__).with_name("schema.json")
Path_ = tuple[str | int, ...]

#: Bounds on a rule file (see the module docstring).
MAX_FILE_BYTES = 1 << 20
MAX_NODES = 60_000
MAX_DEPTH = 32
MAX_RULES = 5_000
MAX_SCHEMA_ERRORS = 500
MAX_INT_CHARS = 20
#: Errors (and, separately, warnings) listed per file; one more diagnostic counts the rest.
MAX_SHOWN = 100

_SURROGATE = re.compile("[\ud800-\udfff]")


@cache
def _validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(schema)


class _Refused(yaml.MarkedYAMLError):
    """Valid YAML that a rule file may not contain (an alias, too deep, too many values)."""

    def __init__(self, problem: str, mark: Any, hint: str | None = None) -> None:
        super().__init__(problem=problem, problem_mark=mark)
        self.hint = hint


class _Loader(yaml.SafeLoader):
    """Safe loader that keeps timestamps as the strings the user wrote and reads booleans the
    YAML 1.2 way: only true/false, so a rule named `off` or a channel `no` stays a string.

    It also enforces the bounds of the module docstring while composing, before anything walks
    the tree: no aliases, at most MAX_DEPTH levels and MAX_NODES values, no lone surrogates.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._count = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        event: yaml.Event = self.peek_event()  # type: ignore[no-untyped-call]
        if isinstance(event, yaml.AliasEvent):
            raise _Refused(
                f"aliases (`*{shorten(event.anchor)}`) are not allowed in rule files",
                event.start_mark,
                "write the value out in full: aliases can make a small file expand to gigabytes",
            )
        self._count += 1
        if self._count > MAX_NODES:
            raise _Refused(
                f"the file holds more than {MAX_NODES:,} values; a rule file may not be that big",
                event.start_mark,
            )
        if self._depth >= MAX_DEPTH:
            raise _Refused(
                f"values are nested more than {MAX_DEPTH} levels deep",
                event.start_mark,
                "rule files need a few levels (rules, tests, orders, lines); check the brackets",
            )
        self._depth += 1
        try:
            node = cast(yaml.Node, super().compose_node(parent, index))
        finally:
            self._depth -= 1
        if isinstance(node, yaml.ScalarNode) and _SURROGATE.search(node.value):
            raise _Refused(
                "this string contains a lone surrogate escape (\\ud800-\\udfff), which is not "
                "a character",
                node.start_mark,
                "write the character itself, or its \\U0001xxxx escape",
            )
        return node

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        # Explicit tags (`!!int abc`, `!!bool maybe`) make PyYAML's constructors raise plain
        # ValueError/KeyError; turn them into positioned errors.
        try:
            return super().construct_object(node, deep)
        except yaml.MarkedYAMLError:
            raise
        except (ValueError, KeyError, TypeError, ArithmeticError) as exc:
            tag = str(node.tag).rsplit(":", 1)[-1]
            raise yaml.constructor.ConstructorError(
                None, None, f"cannot read this value as {shorten(tag)} ({exc})", node.start_mark
            ) from None


_BOOL_TAG = "tag:yaml.org,2002:bool"
_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _BOOL_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    _BOOL_TAG, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def _timestamp_as_text(loader: _Loader, node: yaml.Node) -> str:
    return str(loader.construct_scalar(cast(yaml.ScalarNode, node)))


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_as_text)


def _bounded_int(loader: _Loader, node: yaml.Node) -> int:
    text = str(node.value).replace("_", "").lstrip("+-")
    if len(text) > MAX_INT_CHARS:
        raise _Refused(
            f"the integer {shorten(node.value)} is too large ({len(text):,} digits)",
            node.start_mark,
            f"integers in rule files have at most {MAX_INT_CHARS} digits",
        )
    return int(loader.construct_yaml_int(cast(yaml.ScalarNode, node)))


def _finite_float(loader: _Loader, node: yaml.Node) -> float:
    value = float(loader.construct_yaml_float(cast(yaml.ScalarNode, node)))
    if not math.isfinite(value):
        raise _Refused(
            f"the number {shorten(node.value)} is not finite",
            node.start_mark,
            "infinite and NaN numbers are not allowed in rule files",
        )
    return value


_Loader.add_constructor("tag:yaml.org,2002:int", _bounded_int)
_Loader.add_constructor("tag:yaml.org,2002:float", _finite_float)


# ---- public API -----------------------------------------------------------------------------


def load_ruleset(path: str | Path) -> RuleSet:
    """Load, validate and compile a rule file; raises :class:`RuleFileError` on any error.

    Warnings (lint) do not fail the load; they are on ``RuleSet.warnings``.
    """
    ruleset, diagnostics = check_ruleset(path)
    if ruleset is None:
        raise RuleFileError(diagnostics)
    return ruleset


def check_ruleset(path: str | Path) -> tuple[RuleSet | None, list[Diagnostic]]:
    """Every diagnostic of a file (errors and warnings) and the RuleSet when there is no error."""
    name = str(path)
    try:
        # Only regular files: opening a FIFO blocks until a writer comes, and a device may
        # never end. Checked before opening, and again on what was opened.
        if not stat.S_ISREG(Path(path).stat().st_mode):
            return None, [Diagnostic(name, 1, 1, "error", "not a regular file")]
        with open(path, "rb") as file:
            if not stat.S_ISREG(os.fstat(file.fileno()).st_mode):
                return None, [Diagnostic(name, 1, 1, "error", "not a regular file")]
            data = file.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        return None, [Diagnostic(name, 1, 1, "error", f"cannot read the file: {reason}")]
    return check_ruleset_bytes(data, name)


def check_ruleset_bytes(data: bytes, filename: str) -> tuple[RuleSet | None, list[Diagnostic]]:
    """Like :func:`check_ruleset` for content already in memory (``filename`` labels it).

    Never raises: a failure of the check itself (a bug) is reported as an error diagnostic, so
    a running scheduler that reloads a file keeps its rules whatever the file holds.
    """
    check = _FileCheck(filename, data)
    try:
        return check.run()
    except (RecursionError, MemoryError) as exc:
        message = f"the file is too complex to check ({type(exc).__name__})"
    except Exception as exc:  # a bug; the runner must still never crash on a rule file
        message = f"internal error while checking the file ({type(exc).__name__}: {exc})"
    return None, [Diagnostic(filename, 1, 1, "error", shorten(message, 200))]


def ruleset_hash(data: bytes) -> str:
    """The short content hash of a rule file (12 hex digits of its sha256)."""
    return hashlib.sha256(data).hexdigest()[:12]


# ---- the check ------------------------------------------------------------------------------


@dataclass
class _FileCheck:
    filename: str
    data: bytes
    text: str = ""
    diagnostics: list[Diagnostic] = field(default_factory=list)
    nodes: dict[Path_, yaml.Node] = field(default_factory=dict)
    truncated: bool = False  # more schema errors exist than were collected
    key_nodes: dict[Path_, yaml.Node] = field(default_factory=dict)

    def error(self, line: int, column: int, message: str, hint: str | None = None) -> None:
        self.add(line, column, "error", message, hint)

    def add(
        self, line: int, column: int, severity: Severity, message: str, hint: str | None = None
    ) -> None:
        self.diagnostics.append(Diagnostic(self.filename, line, column, severity, message, hint))

    def at(self, node: yaml.Node) -> tuple[int, int]:
        return node.start_mark.line + 1, node.start_mark.column + 1

    def run(self) -> tuple[RuleSet | None, list[Diagnostic]]:
        if len(self.data) > MAX_FILE_BYTES:
            self.error(
                1,
                1,
                f"the file is larger than {MAX_FILE_BYTES // 1024:,} KB",
                "a rule file holds rules and their tests; keep order data elsewhere",
            )
            return None, self.diagnostics
        try:
            # One line-break convention, so YAML marks and our offsets agree.
            self.text = self.data.decode("utf-8-sig").replace("\r\n", "\n").replace("\r", "\n")
        except UnicodeDecodeError as exc:
            self.error(1, 1, f"the file is not UTF-8 text (byte {exc.start})")
            return None, self.diagnostics
        document = self.read_yaml()
        if document is None:
            return None, self.diagnostics
        root, data = document
        self.index(root, ())
        self.check_schema(data)
        rules = self.check_rules(data)
        timezone = self.check_timezone(data)
        tests = self.check_tests(data)
        if any(d.severity == "error" for d in self.diagnostics) or timezone is None:
            return None, self._sorted()
        ordered = order_rules(rules)
        for rule, message, hint in lint(ordered):
            self.add(rule.line, rule.column, "warning", message, hint)
        ruleset = RuleSet(
            path=self.filename,
            hash=ruleset_hash(self.data),
            full_hash=hashlib.sha256(self.data).hexdigest(),
            timezone_name=timezone.key,
            timezone=timezone,
            rules=ordered,
            tests=tuple(tests),
            warnings=tuple(self._sorted()),
        )
        return ruleset, self._sorted()

    def _sorted(self) -> list[Diagnostic]:
        """The diagnostics in file order, at most MAX_SHOWN errors and MAX_SHOWN warnings."""
        ordered = sorted(self.diagnostics, key=lambda d: (d.line, d.column))
        shown: list[Diagnostic] = []
        for severity in ("error", "warning"):
            found = [d for d in ordered if d.severity == severity]
            shown.extend(found[:MAX_SHOWN])
            if len(found) > MAX_SHOWN:
                rest = found[MAX_SHOWN]
                more = len(found) - MAX_SHOWN
                count = f"{more:,}+" if severity == "error" and self.truncated else f"{more:,}"
                shown.append(
                    Diagnostic(
                        rest.file,
                        rest.line,
                        rest.column,
                        rest.severity,
                        f"{count} more {severity}s from here on are not shown",
                        "fix the ones above first" if severity == "error" else None,
                    )
                )
        return sorted(shown, key=lambda d: (d.line, d.column))

    # YAML
    def read_yaml(self) -> tuple[yaml.Node, Any] | None:
        try:
            loader = _Loader(self.text)
        except yaml.reader.ReaderError as exc:
            line, column = _line_column(self.text, exc.position)
            self.error(line, column, f"invalid YAML: character {exc.character!r} is not allowed")
            return None
        except yaml.YAMLError as exc:  # PyYAML checks the whole text for unprintable characters
            self.error(1, 1, f"invalid YAML: {shorten(exc, 200)}")
            return None
        try:
            root = loader.get_single_node()
            if root is None:
                self.error(1, 1, "the file is empty", "a rule file starts with `version: 1`")
                return None
            if not self.check_keys(root):
                return None
            data = loader.construct_document(root)
        except _Refused as exc:
            mark = exc.problem_mark
            line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
            self.error(line, column, str(exc.problem), exc.hint)
            return None
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
            problem = exc.problem or exc.context or "invalid YAML"
            self.error(line, column, f"invalid YAML: {shorten(problem, 200)}")
            return None
        except yaml.YAMLError as exc:
            self.error(1, 1, f"invalid YAML: {shorten(exc, 200)}")
            return None
        finally:
            loader.dispose()
        return root, data

    def check_keys(self, node: yaml.Node) -> bool:
        """Refuse duplicate keys; False stops the check (cannot build).

        The loader refuses aliases, so the tree is a tree (no node is reached twice) and at most
        MAX_DEPTH deep: plain recursion is safe.
        """
        ok = True
        if isinstance(node, yaml.MappingNode):
            seen: dict[str, yaml.Node] = {}
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.tag != "tag:yaml.org,2002:merge":
                    if key.value in seen:
                        first = seen[key.value].start_mark.line + 1
                        line, column = self.at(key)
                        self.error(
                            line,
                            column,
                            f"duplicate key `{shorten(key.value)}` (first at line {first})",
                            "each key may appear once in a mapping",
                        )
                    else:
                        seen[key.value] = key
                ok = self.check_keys(key) and ok
                ok = self.check_keys(value) and ok
        elif isinstance(node, yaml.SequenceNode):
            for item in node.value:
                ok = self.check_keys(item) and ok
        return ok

    def index(self, node: yaml.Node, path: Path_) -> None:
        """Remember the node of every path (and the key node of every mapping entry)."""
        self.nodes.setdefault(path, node)
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if not isinstance(key, yaml.ScalarNode):
                    continue
                name = key.value
                self.key_nodes[(*path, name)] = key
                self.nodes[(*path, name)] = value
                self.index(value, (*path, name))
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                self.index(item, (*path, i))

    def node_at(self, path: Path_) -> yaml.Node:
        while path not in self.nodes and path:
            path = path[:-1]
        return self.nodes[path]

    def pos(self, path: Path_) -> tuple[int, int]:
        return self.at(self.node_at(_str_path(path)))

    # schema
    def check_schema(self, data: Any) -> None:
        errors = _validator().iter_errors(data)
        for count, err in enumerate(errors):
            if count == MAX_SCHEMA_ERRORS:
                self.truncated = True
                break
            path = tuple(err.absolute_path)
            if err.validator == "additionalProperties" and isinstance(err.instance, dict):
                allowed = set(cast(dict[str, Any], err.schema).get("properties", {}))
                for key in err.instance:
                    if key in allowed:
                        continue
                    node = self.key_nodes.get(_str_path((*path, key)))
                    line, column = self.at(node) if node else self.pos(path)
                    close = difflib.get_close_matches(str(key)[:100], sorted(allowed), n=1)
                    self.error(
                        line,
                        column,
                        f"unknown key `{shorten(key)}`" + _where(path),
                        f"did you mean `{close[0]}`?" if close else _known(allowed),
                    )
                continue
            line, column = self.pos(path)
            self.error(line, column, _schema_message(err, path))

    # rules
    def check_rules(self, data: Any) -> list[CompiledRule]:
        compiled: list[CompiledRule] = []
        items = data.get("rules") if isinstance(data, dict) else None
        if not isinstance(items, list):
            return compiled
        if len(items) > MAX_RULES:
            line, column = self.pos(("rules",))
            self.error(
                line,
                column,
                f"the file has {len(items):,} rules; at most {MAX_RULES:,}",
                "split it, or merge rules that do the same with `in [...]`",
            )
            return compiled
        names: dict[str, int] = {}
        for index, item in enumerate(items):
            if not isinstance(item, dict):
                continue
            name = item.get("name")
            if isinstance(name, str):
                if name in names:
                    line, column = self.pos(("rules", index, "name"))
                    self.error(
                        line,
                        column,
                        f"duplicate rule name `{shorten(name)}` (first at line {names[name]})",
                        "rule names must be unique in a file",
                    )
                else:
                    names[name] = self.pos(("rules", index, "name"))[0]
            text = item.get("rule")
            if not isinstance(text, str):
                continue
            rule = self.check_rule_text(text, ("rules", index, "rule"))
            if rule is None or not isinstance(name, str):
                continue
            priority = item.get("priority", 0)
            line, column = self.pos(("rules", index, "rule"))
            compiled.append(
                CompiledRule(
                    name=name,
                    priority=priority if isinstance(priority, int) else 0,
                    index=index,
                    text=text,
                    syntax=rule,
                    predicate=compile_condition(rule.condition, ORDER_VOCABULARY),
                    description=str(item.get("description", "")),
                    enabled=item.get("enabled", True) is not False,
                    line=line,
                    column=column,
                )
            )
        return compiled

    def check_rule_text(self, text: str, path: Path_) -> Rule | None:
        node = self.node_at(path)
        try:
            rule = parse_rule(text)
        except DslError as exc:
            self.dsl_error(node, exc)
            return None
        errors: list[DslError] = list(check_rule(rule, ORDER_VOCABULARY))
        trigger = rule.trigger
        if isinstance(trigger, CronTrigger):
            try:
                parse_cron(trigger.expr)
            except CronError as exc:
                errors.append(
                    DslError(
                        f"invalid cron expression: {shorten(exc, 200)}",
                        line=trigger.expr_line,
                        column=trigger.expr_column,
                        text=trigger.expr,
                        hint=_CRON_HINT,
                    )
                )
        for err in errors:
            self.dsl_error(node, err)
        return None if errors else rule

    def dsl_error(self, node: yaml.Node, exc: DslError) -> None:
        line, column = self.translate(node, exc.line, exc.column)
        self.error(line, column, exc.message, exc.hint)

    def translate(self, node: yaml.Node, line: int, column: int) -> tuple[int, int]:
        """A (line, column) of a scalar's value -> (line, column) in the file."""
        value = str(node.value)
        lines = value.split("\n")
        index = sum(len(text) + 1 for text in lines[: line - 1]) + column - 1
        # Only the offsets up to the error are needed (the value may be large).
        offsets = list(itertools.islice(_value_offsets(self.text, node), max(index, 0) + 1))
        if not offsets:
            return self.at(node)
        if index >= len(offsets):
            source_index = offsets[-1] + 1 + (index - len(offsets))
        else:
            source_index = offsets[max(index, 0)]
        return _line_column(self.text, source_index)

    # timezone and tests
    def check_timezone(self, data: Any) -> zoneinfo.ZoneInfo | None:
        name = data.get("timezone", "UTC") if isinstance(data, dict) else "UTC"
        if not isinstance(name, str):
            return None  # the schema reported it
        try:
            return zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
            line, column = self.pos(("timezone",))
            close = difflib.get_close_matches(name[:100], sorted(_timezones()), n=1)
            self.error(
                line,
                column,
                f"unknown timezone `{shorten(name)}`",
                f"did you mean `{close[0]}`?" if close else "use an IANA name like Europe/Berlin",
            )
            return None

    def check_tests(self, data: Any) -> list[RuleTest]:
        items = data.get("tests") if isinstance(data, dict) else None
        tests: list[RuleTest] = []
        if not isinstance(items, list):
            return tests
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                continue
            listed = item.get("orders")
            orders = [o for o in listed if isinstance(o, dict)] if isinstance(listed, list) else []
            # Ids that are not strings (`id: {x: 1}`) are schema errors, and unhashable.
            ids = {o.get("id") for o in orders if isinstance(o.get("id"), str)}
            for j, order in enumerate(orders):
                placed = order.get("placed_at")
                problem = datetime_literal_problem(placed) if isinstance(placed, str) else None
                if problem is not None:
                    line, column = self.pos(("tests", i, "orders", j, "placed_at"))
                    self.error(
                        line,
                        column,
                        f"`{shorten(placed)}` {problem}",
                        'write it like "2026-01-31T09:00:00Z"',
                    )
            expect = item.get("expect")
            if isinstance(expect, dict):
                for order_id in expect:
                    if order_id not in ids:
                        line, column = self.at(
                            self.key_nodes.get(("tests", i, "expect", str(order_id)))
                            or self.node_at(("tests", i, "expect"))
                        )
                        self.error(
                            line, column, f"`{shorten(order_id)}` is not an order of this test"
                        )
            inventory = item.get("inventory")
            tests.append(
                RuleTest(
                    name=str(item.get("name", "")),
                    inventory=inventory if isinstance(inventory, dict) else {},
                    orders=tuple(orders),
                    expect=expect if isinstance(expect, dict) else {},
                    line=self.pos(("tests", i))[0],
                )
            )
        return tests


# ---- helpers --------------------------------------------------------------------------------


@cache
def _timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _str_path(path: Path_) -> Path_:
    # Mapping keys are indexed by their source text; YAML may have turned `1:` into the int 1.
    return tuple(p if isinstance(p, int) and not isinstance(p, bool) else str(p) for p in path)


def _where(path: Path_) -> str:
    return f" in {_show_path(path)}" if path else ""


def _show_path(path: Path_) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _known(allowed: set[str]) -> str:
    return "allowed keys: " + ", ".join(sorted(allowed))


def _schema_message(err: jsonschema.ValidationError, path: Path_) -> str:
    where = shorten(_show_path(path), 120) or "the file"
    if err.validator == "pattern" and path[-1:] == ("name",):
        return (
            f"rule name `{shorten(err.instance)}` may only use lowercase letters, digits, '_' "
            "and '-', starting with a letter or digit"
        )
    if err.validator == "const" and path == ("version",):
        return f"unsupported version {shorten(repr(err.instance))}: this dibs reads version 1"
    message = str(err.message)
    if isinstance(err.instance, str | int | float) and not isinstance(err.instance, bool):
        # jsonschema quotes the whole value (`'<100 KB>' is not of type 'integer'`).
        shown = repr(err.instance)
        if len(shown) > 60:
            message = message.replace(shown, shorten(shown))
    elif isinstance(err.instance, list | dict):
        message = _container_message(err)
    return f"{where}: {shorten(message, 300)}"


def _container_message(err: jsonschema.ValidationError) -> str:
    # jsonschema's messages for lists and mappings quote the whole container; say what it is.
    kind = "a list" if isinstance(err.instance, list) else "a mapping"
    shown = repr(err.instance)
    message = str(err.message)
    if len(shown) <= 60:
        return message
    return message.replace(shown, f"{kind} ({shorten(shown)})")


def _value_offsets(source: str, node: yaml.Node) -> Iterator[int]:
    """For each character of a scalar's value, its index in the source (see module docstring)."""
    start, end = node.start_mark.index, node.end_mark.index
    raw = source[start:end]
    style = getattr(node, "style", None)
    j = 0
    if style in ("|", ">"):
        newline = raw.find("\n")
        j = newline + 1 if newline >= 0 else len(raw)
    elif style in ('"', "'"):
        j = 1
    for char in str(node.value):
        # A bounded window: a character missing from the source (an escape) must not make every
        # later one scan the whole rest of the scalar.
        k = raw.find(char, j, j + 1024)
        if k < 0:
            yield start + min(j, max(len(raw) - 1, 0))
            continue
        yield start + k
        j = k + 1


def _line_column(text: str, index: int) -> tuple[int, int]:
    index = max(0, min(index, len(text)))
    line = text.count("\n", 0, index) + 1
    column = index - (text.rfind("\n", 0, index) + 1) + 1
    return line, column
