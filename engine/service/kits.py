"""Kits (SPEC §12): defining, removing, importing and listing them.

A kit is a SKU made of components; it has no stock of its own and its order lines reserve the
components. Refused with exit 2, nothing written: a kit inside a kit, a kit containing itself,
a kit whose SKU has stock (or reservations) of its own. Refused with exit 1: changing or
removing a kit while an open order holds reservations for a line of it (its reservations were
made by the old definition; deallocate or ship those orders first), and removing a kit that
does not exist.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.engine import Connection

from engine.errors import BadInput, OperationFailed, plural
from engine.model import DEFAULT_WAREHOUSE, Kits, kit_units
from engine.model.routing import kit_problem
from engine.service.shapes import kit_stock_row
from engine.service.tx import Tx
from engine.store.kit_rows import (
    delete_kit,
    expand,
    kit_line_holders,
    load_kits,
    stock_by_warehouse,
    stocked,
    write_kits,
)


def set_kits(
    tx: Tx,
    definitions: Mapping[str, Sequence[tuple[str, int]]],
    places: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """Define (or redefine) kits, all or none; `places` prefixes problems (file:line)."""
    where = dict(places or {})
    current = load_kits(tx.conn)
    new = {kit: tuple(sorted(parts)) for kit, parts in definitions.items()}
    merged = {**current, **new}
    tx.lock_stock({(sku, DEFAULT_WAREHOUSE) for sku in expand(merged, new) | set(new)})
    problems = [
        _at(where, kit, problem)
        for kit, parts in definitions.items()
        if (problem := kit_problem(kit, parts, merged))
    ]
    for kit, (sku, wh) in stocked(tx.conn, new).items():
        problems.append(
            _at(
                where,
                kit,
                f"{sku!r} has stock of its own in {wh!r}, so it cannot be a kit "
                "(a kit's stock is its components'; set that SKU's stock to 0 first)",
            )
        )
    if problems:
        raise BadInput(
            problems[0] if len(problems) == 1 else f"{len(problems)} kit problems, nothing written",
            problems=problems if len(problems) > 1 else (),
        )
    changed = [kit for kit, parts in new.items() if kit in current and current[kit] != parts]
    _refuse_if_held(tx, changed, "change")
    write_kits(tx.conn, new)
    return list_kits(tx.conn, sorted(new))


def remove_kit(tx: Tx, kit: str) -> None:
    """Remove a kit; its SKU is a plain SKU again (exit 1 if unknown or held)."""
    current = load_kits(tx.conn)
    if kit not in current:
        raise OperationFailed(f"no kit {kit!r}")
    tx.lock_stock({(sku, DEFAULT_WAREHOUSE) for sku, _ in current[kit]})
    _refuse_if_held(tx, [kit], "remove")
    delete_kit(tx.conn, kit)


def _refuse_if_held(tx: Tx, kits: Sequence[str], verb: str) -> None:
    holders = kit_line_holders(tx.conn, kits)
    if holders:
        kit, ids = sorted(holders.items())[0]
        shown = ", ".join(ids[:5]) + (f" and {len(ids) - 5} more" if len(ids) > 5 else "")
        raise OperationFailed(
            f"cannot {verb} kit {kit!r}: open orders hold reservations for it ({shown}); "
            "deallocate or ship them first"
        )


def _at(places: Mapping[str, str], kit: str, problem: str) -> str:
    return f"{places[kit]}: {problem}" if kit in places else problem


def list_kits(conn: Connection, only: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """SPEC §12 `kits list --json`: `available` is kit units summed over warehouses, each
    kit unit from one warehouse; `warehouses` gives them per warehouse."""
    kits = load_kits(conn)
    names = sorted(kits) if only is None else [k for k in only if k in kits]
    by_wh = stock_by_warehouse(conn, expand(kits, names))
    out = []
    for kit in names:
        per = {wh: kit_units(kits[kit], avail) for wh, avail in sorted(by_wh.items())}
        per = {wh: n for wh, n in per.items() if any(s in by_wh[wh] for s, _ in kits[kit])}
        out.append(
            {
                "kit": kit,
                "components": [{"sku": sku, "qty": qty} for sku, qty in kits[kit]],
                "available": sum(per.values()),
                "warehouses": per,
            }
        )
    return out


def kit_rows(conn: Connection, sku: str | None = None) -> list[dict[str, Any]]:
    """`inventory list` rows of kits: per warehouse stocking a component, the kit units it
    can make (`kit: true`; on hand and allocated are the components', so they are null)."""
    rows: list[dict[str, Any]] = []
    for doc in list_kits(conn, None if sku is None else [sku]):
        per = doc["warehouses"] or {DEFAULT_WAREHOUSE: 0}
        rows.extend(kit_stock_row(doc["kit"], wh, n) for wh, n in per.items())
    return rows


def refuse_stock_on_kits(
    kits: Kits, skus: Sequence[str], places: Mapping[str, str] | None = None
) -> None:
    """Setting stock on a kit SKU is refused (exit 2): a kit has no stock of its own. With
    `places` (sku -> `file:line`, from a stock file) every kit row is named where it is."""
    found = [sku for sku in dict.fromkeys(skus) if sku in kits]
    if not found:
        return
    why = {
        sku: f"{sku!r} is a kit: it has no stock of its own; change its components' stock "
        f"instead ({', '.join(part for part, _ in kits[sku])})"
        for sku in found
    }
    if not places or found[0] not in places:
        raise BadInput(f"{why[found[0]]}; nothing changed", field="sku")
    name = places[found[0]].rsplit(":", 1)[0]
    raise BadInput(
        f"{name}: {plural(len(found), 'problem')}, nothing imported",
        problems=[f"{places.get(sku, name)}: {why[sku]}" for sku in found],
        field="sku",
    )
