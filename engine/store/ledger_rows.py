"""The ledger (SPEC §4): every change of a reservation, appended, never rewritten."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection

from engine.model import Actor
from engine.store.schema import ledger


def ledger_row(
    at: datetime,
    order_id: str,
    line_no: int,
    sku: str,
    warehouse: str,
    delta: int,
    operation: str,
    actor: Actor,
) -> dict[str, Any]:
    return {
        "at": at,
        "order_id": order_id,
        "line_no": line_no,
        "sku": sku,
        "warehouse": warehouse,
        "delta": delta,
        "operation": operation,
        "rule": actor.rule,
        "ruleset": actor.ruleset,
        "actor": actor.name,
    }


def write_ledger(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        conn.execute(ledger.insert(), list(rows))
