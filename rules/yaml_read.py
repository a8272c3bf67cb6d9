"""Reading a rule file's YAML within bounds (see rules.loader for the whole list of bounds):
no aliases, bounded nesting, values and integers, no lone surrogates, dates that exist in UTC."""

from __future__ import annotations

import json
import math
import re
from functools import cache
from pathlib import Path
from typing import Any, cast

import jsonschema
import yaml

from dsl.errors import shorten

CRON_HINT = 'five fields: minute hour day-of-month month day-of-week, e.g. "0 2 * * 1"'
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

SURROGATE = re.compile("[\ud800-\udfff]")


@cache
def validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(schema)


class Refused(yaml.MarkedYAMLError):
    """Valid YAML that a rule file may not contain (an alias, too deep, too many values)."""

    def __init__(self, problem: str, mark: Any, hint: str | None = None) -> None:
        super().__init__(problem=problem, problem_mark=mark)
        self.hint = hint


class BoundedLoader(yaml.SafeLoader):
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
            raise Refused(
                f"aliases (`*{shorten(event.anchor)}`) are not allowed in rule files",
                event.start_mark,
                "write the value out in full: aliases can make a small file expand to gigabytes",
            )
        self._count += 1
        if self._count > MAX_NODES:
            raise Refused(
                f"the file holds more than {MAX_NODES:,} values; a rule file may not be that big",
                event.start_mark,
            )
        if self._depth >= MAX_DEPTH:
            raise Refused(
                f"values are nested more than {MAX_DEPTH} levels deep",
                event.start_mark,
                "rule files need a few levels (rules, tests, orders, lines); check the brackets",
            )
        self._depth += 1
        try:
            node = cast(yaml.Node, super().compose_node(parent, index))
        finally:
            self._depth -= 1
        if isinstance(node, yaml.ScalarNode) and SURROGATE.search(node.value):
            raise Refused(
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
BoundedLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _BOOL_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
BoundedLoader.add_implicit_resolver(
    _BOOL_TAG, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def _timestamp_as_text(loader: BoundedLoader, node: yaml.Node) -> str:
    return str(loader.construct_scalar(cast(yaml.ScalarNode, node)))


BoundedLoader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_as_text)


def _bounded_int(loader: BoundedLoader, node: yaml.Node) -> int:
    text = str(node.value).replace("_", "").lstrip("+-")
    if len(text) > MAX_INT_CHARS:
        raise Refused(
            f"the integer {shorten(node.value)} is too large ({len(text):,} digits)",
            node.start_mark,
            f"integers in rule files have at most {MAX_INT_CHARS} digits",
        )
    return int(loader.construct_yaml_int(cast(yaml.ScalarNode, node)))


def _finite_float(loader: BoundedLoader, node: yaml.Node) -> float:
    value = float(loader.construct_yaml_float(cast(yaml.ScalarNode, node)))
    if not math.isfinite(value):
        raise Refused(
            f"the number {shorten(node.value)} is not finite",
            node.start_mark,
            "infinite and NaN numbers are not allowed in rule files",
        )
    return value


BoundedLoader.add_constructor("tag:yaml.org,2002:int", _bounded_int)
BoundedLoader.add_constructor("tag:yaml.org,2002:float", _finite_float)
