"""`dibs status`: what is waiting and what needs a person, in one read (no writes).

The database part is `engine.service.overview_status.overview`; with a rule file this adds,
per scheduled
rule, when it last ran and when it is next due (the scheduler's own arithmetic).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from engine.run.scheduler import ap_trigger, can_fire, due_slot, next_fire
from engine.service import Service, overview_status
from engine.service.events import delivery_status
from engine.service.shapes import iso
from engine.store import outbox
from rules.ruleset import RuleSet


def status(
    service: Service, ruleset: RuleSet | None = None, now: datetime | None = None
) -> dict[str, Any]:
    """The `dibs status --json` document (docs/json.md)."""
    when = now or service.clock()
    with service.store.read() as conn:
        doc = overview_status.overview(conn)
        names = [spec.name for spec in ruleset.notify] if ruleset is not None else []
        doc["deliveries"] = delivery_status(conn, names)
        if ruleset is not None:
            doc["ruleset"] = ruleset.hash
            doc["schedules"] = [
                _schedule(rule.name, rule.trigger, outbox.last_slot(conn, rule.name), ruleset, when)
                for rule in ruleset.scheduled_rules()
            ]
    doc["at"] = iso(when)
    return doc


def _schedule(
    name: str, trigger: Any, last: datetime | None, ruleset: RuleSet, now: datetime
) -> dict[str, Any]:
    if not can_fire(trigger):
        return {"rule": name, "last_run": iso(last), "next_due": None, "due_now": False}
    due = due_slot(trigger, ruleset.timezone, last, now) is not None
    upcoming = now if due else next_fire(ap_trigger(trigger, ruleset.timezone), last or now)
    return {"rule": name, "last_run": iso(last), "next_due": iso(upcoming), "due_now": due}


__all__ = ["status"]
