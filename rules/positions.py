"""Where a problem of a rule file is, and how its message reads: paths, schema messages,
line and column of a value in the source."""

from __future__ import annotations

import difflib
import zoneinfo
from collections.abc import Iterator
from functools import cache

import jsonschema
import yaml

from dsl.errors import shorten
from rules.yaml_read import (
    Path_,
)


@cache
def timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def str_path(path: Path_) -> Path_:
    # Mapping keys are indexed by their source text; YAML may have turned `1:` into the int 1.
    return tuple(p if isinstance(p, int) and not isinstance(p, bool) else str(p) for p in path)


def where(path: Path_) -> str:
    return f" in {show_path(path)}" if path else ""


def show_path(path: Path_) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def known(allowed: set[str]) -> str:
    return "allowed keys: " + ", ".join(sorted(allowed))


def schema_message(err: jsonschema.ValidationError, path: Path_) -> str:
    where = shorten(show_path(path), 120) or "the file"
    if err.validator == "pattern" and path[-1:] == ("name",):
        # Endpoints of `notify:` take names like rules do; "rule name `Bad`" pointed elsewhere.
        what = "endpoint name" if path[:1] == ("notify",) else "rule name"
        return (
            f"{what} `{shorten(err.instance)}` may only use lowercase letters, digits, '_' "
            "and '-', starting with a letter or digit"
        )
    if err.validator == "maxLength" and path[-1:] == ("name",) and isinstance(err.instance, str):
        what = "endpoint name" if path[:1] == ("notify",) else "rule name"
        return (
            f"{what} `{shorten(err.instance)}` is {len(err.instance):,} characters long; "
            f"at most {err.validator_value}"
        )
    if err.validator == "const" and path == ("version",):
        return f"unsupported version {shorten(repr(err.instance))}: this dibs reads version 1"
    if err.validator == "type" and err.instance is None:
        # `rule:` with nothing after it: YAML reads null, which jsonschema shows as Python's None.
        return f"{where}: no value given; expected {_a_type(err.validator_value)}"
    message = str(err.message)
    if isinstance(err.instance, str | int | float) and not isinstance(err.instance, bool):
        # jsonschema quotes the whole value (`'<100 KB>' is not of type 'integer'`).
        shown = repr(err.instance)
        if len(shown) > 60:
            message = message.replace(shown, shorten(shown))
    elif isinstance(err.instance, list | dict):
        message = container_message(err)
    return f"{where}: {shorten(message, 300)}"


_TYPE_WORDS = {
    "string": "text",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "array": "a list",
    "object": "a mapping",
}

#: What YAML 1.1 readers take for booleans; dibs reads YAML 1.2, where they are text.
_YAML11_BOOLEANS = {"yes", "no", "on", "off", "y", "n", "true", "false"}


def _a_type(expected: object) -> str:
    names = expected if isinstance(expected, list) else [expected]
    return " or ".join(_TYPE_WORDS.get(str(n), str(n)) for n in names)


def schema_hint(err: jsonschema.ValidationError) -> str | None:
    """A hint for the schema mistakes people make: a near-miss of an allowed word, a number or
    boolean written in quotes (or as `yes`)."""
    value = err.instance
    if err.validator == "enum" and isinstance(value, str):
        allowed = [str(v) for v in err.validator_value]
        close = difflib.get_close_matches(value[:100], allowed, n=1)
        return f"did you mean `{close[0]}`?" if close else None
    if err.validator != "type" or not isinstance(value, str):
        return None
    expected = err.validator_value
    if expected in ("integer", "number") and _is_number(value):
        return "write the number without quotes"
    if expected == "boolean" and value.strip().lower() in _YAML11_BOOLEANS:
        return "write true or false (in YAML 1.2, yes, no, on and off are text)"
    return None


def _is_number(text: str) -> bool:
    try:
        float(text.strip())
    except ValueError:
        return False
    return bool(text.strip())


def container_message(err: jsonschema.ValidationError) -> str:
    # jsonschema's messages for lists and mappings quote the whole container; say what it is.
    kind = "a list" if isinstance(err.instance, list) else "a mapping"
    shown = repr(err.instance)
    message = str(err.message)
    if len(shown) <= 60:
        return message
    return message.replace(shown, f"{kind} ({shorten(shown)})")


def value_offsets(source: str, node: yaml.Node) -> Iterator[int]:
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


def line_column(text: str, index: int) -> tuple[int, int]:
    index = max(0, min(index, len(text)))
    line = text.count("\n", 0, index) + 1
    column = index - (text.rfind("\n", 0, index) + 1) + 1
    return line, column
