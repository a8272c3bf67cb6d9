"""SQL functions the rule-language filter needs whose spelling differs by dialect (SQLite,
PostgreSQL): substring search, byte-wise comparison and typed reads of JSON attributes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean, Float, FunctionElement, Integer, String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler


class Found(FunctionElement[bool]):
    """`needle` occurs in `haystack` (NULL when haystack is NULL); case-sensitive everywhere,
    unlike SQLite's LIKE."""

    type = Boolean()
    inherit_cache = True


@compiles(Found)
def _found_default(element: Found, compiler: SQLCompiler, **kw: Any) -> str:
    haystack, needle = (compiler.process(c, **kw) for c in element.clauses)
    return f"(instr({haystack}, {needle}) > 0)"


@compiles(Found, "postgresql")
def _found_pg(element: Found, compiler: SQLCompiler, **kw: Any) -> str:
    haystack, needle = (compiler.process(c, **kw) for c in element.clauses)
    return f"(strpos({haystack}, {needle}) > 0)"


class Bytewise(FunctionElement[str]):
    """A string compared by code point: `COLLATE "C"` on PostgreSQL, as is on SQLite."""

    type = String()
    inherit_cache = True


@compiles(Bytewise)
def _bytewise_default(element: Bytewise, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(next(iter(element.clauses)), **kw)


@compiles(Bytewise, "postgresql")
def _bytewise_pg(element: Bytewise, compiler: SQLCompiler, **kw: Any) -> str:
    return f'({compiler.process(next(iter(element.clauses)), **kw)} COLLATE "C")'


class JsonText(FunctionElement[str]):
    """attributes[key] when it is a JSON string, else NULL."""

    type = String()
    inherit_cache = True


class JsonNumber(FunctionElement[float]):
    """attributes[key] as a double when it is a JSON number or boolean (1/0), else NULL."""

    type = Float()
    inherit_cache = True


class JsonBool(FunctionElement[int]):
    """attributes[key] as 1/0 when it is a JSON boolean, else NULL."""

    type = Integer()
    inherit_cache = True


def _json_args(element: FunctionElement[Any], compiler: SQLCompiler, **kw: Any) -> tuple[str, str]:
    column, key = (compiler.process(c, **kw) for c in element.clauses)
    return column, key


_SQLITE_TYPES = {
    JsonText: "'text'",
    JsonNumber: "'integer', 'real', 'true', 'false'",
    JsonBool: "'true', 'false'",
}


@compiles(JsonText)
@compiles(JsonNumber)
@compiles(JsonBool)
def _json_sqlite(element: FunctionElement[Any], compiler: SQLCompiler, **kw: Any) -> str:
    # json_extract gives 1/0 for JSON true/false, which is exactly the number view wanted.
    column, key = _json_args(element, compiler, **kw)
    path = f"""('$."' || {key} || '"')"""
    kinds = _SQLITE_TYPES[type(element)]
    return (
        f"(CASE WHEN json_type({column}, {path}) IN ({kinds}) "
        f"THEN json_extract({column}, {path}) END)"
    )


@compiles(JsonText, "postgresql")
def _json_text_pg(element: JsonText, compiler: SQLCompiler, **kw: Any) -> str:
    column, key = _json_args(element, compiler, **kw)
    return f"(CASE WHEN json_typeof({column} -> {key}) = 'string' THEN {column} ->> {key} END)"


#: The largest finite double; a number past it (compared exactly, as NUMERIC) is ±infinity.
_DOUBLE_MAX = "1.7976931348623157E+308"
_INFINITY = "CAST('Infinity' AS DOUBLE PRECISION)"


@compiles(JsonNumber, "postgresql")
def _json_number_pg(element: JsonNumber, compiler: SQLCompiler, **kw: Any) -> str:
    # CASE, not AND: PostgreSQL may evaluate AND's operands in any order, and the cast of a
    # non-number would raise.
    # A JSON integer beyond a double's range (JSON allows any, and so do imports) is ±infinity,
    # as Python compares it with every rule literal; a plain cast would raise "out of range".
    column, key = _json_args(element, compiler, **kw)
    exact = f"CAST({column} ->> {key} AS NUMERIC)"
    return (
        f"(CASE json_typeof({column} -> {key}) "
        f"WHEN 'number' THEN CASE WHEN {exact} > {_DOUBLE_MAX} THEN {_INFINITY} "
        f"WHEN {exact} < -{_DOUBLE_MAX} THEN -{_INFINITY} "
        f"ELSE CAST({column} ->> {key} AS DOUBLE PRECISION) END "
        f"WHEN 'boolean' THEN CASE WHEN {column} ->> {key} = 'true' "
        f"THEN CAST(1 AS DOUBLE PRECISION) ELSE CAST(0 AS DOUBLE PRECISION) END END)"
    )


@compiles(JsonBool, "postgresql")
def _json_bool_pg(element: JsonBool, compiler: SQLCompiler, **kw: Any) -> str:
    column, key = _json_args(element, compiler, **kw)
    return (
        f"(CASE WHEN json_typeof({column} -> {key}) = 'boolean' "
        f"THEN CASE WHEN {column} ->> {key} = 'true' THEN 1 ELSE 0 END END)"
    )
