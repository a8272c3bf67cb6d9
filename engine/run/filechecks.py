"""Warnings about a rule file that depend on where it runs, not on its text: a `notify:`
endpoint whose secret's variable is not set in this process (`rules.notify.secret_warnings`),
and an `allocate from [...]` naming a warehouse that has no stock row in this database.
`rules/` checks the text alone; these need the environment and the store, so the command line
(`dibs rules check`) and the server (`POST /api/v1/rules/check`, the dashboard's Rules page)
warn alike."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from rules.errors import Diagnostic
from rules.notify import secret_warnings

if TYPE_CHECKING:  # SQLAlchemy only when a warehouse is looked up: `rules check` starts fast
    from sqlalchemy.engine import Connection

    from engine.store import Store
    from rules.ruleset import RuleSet


def named_warehouses(ruleset: RuleSet) -> bool:
    """Whether any rule allocates `from` named warehouses (else there is nothing to look up)."""
    return any(a.warehouses for r in ruleset.rules for a in r.actions)


def warehouse_warnings(conn: Connection, ruleset: RuleSet) -> list[Diagnostic]:
    """`allocate from [...]` naming a warehouse without any stock row: a warning (it may be
    stocked later). None before any stock is loaded, when every name would be unknown."""
    from engine.store.kit_rows import has_stock, known_warehouses

    named = [(r, w) for r in ruleset.rules for a in r.actions for w in a.warehouses or ()]
    if not named or not has_stock(conn):
        return []
    known = known_warehouses(conn, {w for _, w in named})
    return [
        Diagnostic(
            ruleset.path,
            rule.line,
            rule.column,
            "warning",
            f"rule {rule.name}: no stock row exists in warehouse {wh!r} (yet); check the name",
        )
        for rule, wh in named
        if wh not in known
    ]


def environment_warnings(
    store: Store, ruleset: RuleSet, environ: Mapping[str, str]
) -> list[Diagnostic]:
    """Both kinds, for a server that has its store open."""
    warnings = secret_warnings(ruleset, environ)
    if named_warehouses(ruleset):
        with store.read() as conn:
            warnings.extend(warehouse_warnings(conn, ruleset))
    return warnings
