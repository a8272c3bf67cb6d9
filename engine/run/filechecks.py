"""Checks of a rule file that `rules/` cannot make from the text alone.

Warnings that depend on where it runs: a `notify:` endpoint whose secret's variable is not set
in this process (`rules.notify.secret_warnings`), and an `allocate from [...]` naming a
warehouse that has no stock row in this database. They need the environment and the store, so
the command line (`dibs rules check`) and the server (`POST /api/v1/rules/check`, the
dashboard's Rules page) warn alike.

Errors that need the engine's own validators: an order of a test that an import would refuse
(`invalid_test_orders`). `rules/` never imports `engine`, and `dibs rules check` stays fast, so
the validators (pure Python, no database) are imported only for a file that has tests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from rules.errors import Diagnostic
from rules.notify import secret_warnings

if TYPE_CHECKING:  # SQLAlchemy only when a warehouse is looked up: `rules check` starts fast
    from sqlalchemy.engine import Connection

    from engine.store import Store
    from rules.ruleset import Places, RuleSet


def named_warehouses(ruleset: RuleSet) -> bool:
    """Whether any rule allocates `from` named warehouses (else there is nothing to look up)."""
    return any(a.warehouses for r in ruleset.rules for a in r.actions)


def warehouse_warnings(conn: Connection, ruleset: RuleSet) -> list[Diagnostic]:
    """`allocate from [...]` naming a warehouse without any stock row: a warning (it may be
    stocked later) at the name, with the nearest warehouse that has stock as a did-you-mean.
    None before any stock is loaded, when every name would be unknown."""
    from engine.store.kit_rows import has_stock, stock_warehouses

    named = [(r, *at) for r in ruleset.rules for at in r.named_warehouses]
    if not named or not has_stock(conn):
        return []
    known = stock_warehouses(conn)
    return [
        Diagnostic(
            ruleset.path,
            line,
            column,
            "warning",
            f"rule {rule.name}: no stock row exists in warehouse {wh!r} (yet); check the name",
            _closest(wh, known),
        )
        for rule, wh, line, column in named
        if wh not in known
    ]


def _closest(name: str, known: Sequence[str]) -> str:
    """`did you mean `east`?`, as the rule language hints an unknown field; else the names."""
    import difflib

    close = difflib.get_close_matches(name[:100], known, n=1)
    if close:
        return f"did you mean `{close[0]}`?"
    shown = ", ".join(known[:10]) + (f" and {len(known) - 10} more" if len(known) > 10 else "")
    return f"the warehouses with stock: {shown}"


def environment_warnings(
    store: Store, ruleset: RuleSet, environ: Mapping[str, str]
) -> list[Diagnostic]:
    """Both kinds, for a server that has its store open."""
    warnings = secret_warnings(ruleset, environ)
    if named_warehouses(ruleset):
        with store.read() as conn:
            warnings.extend(warehouse_warnings(conn, ruleset))
    return warnings


def invalid_test_orders(ruleset: RuleSet) -> list[Diagnostic]:
    """An error for each problem an import finds in an order of the file's tests (in a test's
    `orders:` and in its `orders` steps), at the field it names, else at the order: the same
    check `dibs rules test` makes before it runs anything, so `dibs rules check` reports it."""
    from engine.errors import quoted

    found: list[Diagnostic] = []
    for test in ruleset.tests:
        name = f"test {quoted(test.name)}"
        found += _order_problems(ruleset.path, name, test.orders, test.order_places, test.line)
        for number, step in enumerate(test.steps, start=1):
            if step.action == "orders":
                where = f"{name}, step {number}"
                found += _order_problems(ruleset.path, where, step.value, step.places, step.line)
    return sorted(found, key=lambda d: (d.line, d.column))


def _order_problems(
    path: str,
    where: str,
    orders: Sequence[Mapping[str, Any]],
    places: Sequence[Places],
    line: int,
) -> list[Diagnostic]:
    from datetime import UTC, datetime

    from engine.io.fields import check_order_mapping
    from engine.io.messages import order_ref

    now = datetime.now(UTC)
    found: list[Diagnostic] = []
    for index, order in enumerate(orders):
        problems: list[str] = []
        check_order_mapping(order, where, now, problems)
        at = places[index] if index < len(places) else {}
        head = f"{where}: {order_ref(order)}"
        for problem in problems:
            rest = problem[len(head) :] if problem.startswith(head) else ""
            # The field the message begins with (`ship_to.country must be ...`), the longest
            # name that fits; else the order itself.
            named = [f for f in at if f and rest.startswith(f + " ")]
            spot = at.get(max(named, key=len)) if named else at.get("", (line, 1))
            row, column = spot or (line, 1)
            found.append(Diagnostic(path, row, column, "error", problem))
    return found
