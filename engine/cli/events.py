"""`dibs events list|tail` and `dibs deliveries list|retry` (SPEC §13): what the outbox told, and
how its webhooks fared."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from engine.cli import output
from engine.cli.common import Parser, open_service
from engine.errors import BadInput, UnknownOrder

if TYPE_CHECKING:
    from engine.service import Service

#: How often `events tail` looks for new events, in seconds.
TAIL_POLL = 0.5
#: How long `events tail` waits for an id below one it has seen (a transaction still open, or
#: one rolled back) before it stops waiting for it.
TAIL_GAP_SECONDS = 30.0


def _types(value: str | None) -> list[str]:
    from engine.service import events as event_reads

    types = [t.strip() for t in (value or "").split(",") if t.strip()]
    event_reads.check_types(types)
    return types


def _since(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise BadInput(
            f"--since: {value!r} is not an ISO-8601 time (like 2026-01-31T09:00:00Z)"
        ) from exc
    # An offset names an instant: the stored times are UTC, so compare in UTC.
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def _summary(data: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in data.items() if k != "order" and v is not None)


def cmd_events_list(args: argparse.Namespace) -> int:
    from engine.service import events as event_reads

    if args.limit < 0:
        raise BadInput(f"--limit must be 0 (all) or more, got {args.limit}")
    types, since = _types(args.type), _since(args.since)
    service = open_service(args, read_only=True)
    with service.store.read() as conn:
        rows = event_reads.list_events(conn, types, args.order, since, args.limit or None)
    if not rows and args.order:
        _note_unknown_order(service, args.order)
    if args.json:
        output.print_json(rows)
        return 0
    output.print_records(
        f"Events ({len(rows)})",
        [{**r, "order": r["data"].get("order"), "data": _summary(r["data"])} for r in rows],
        ["id", "at", "type", "order", "data"],
    )
    return 0


def _note_unknown_order(service: Service, order_id: str) -> None:
    """No events for an id no order has is a typo, not a quiet order: say so (stderr, exit 0),
    as `orders list --sku` notes a SKU nothing has."""
    try:
        service.get_order(order_id)
    except UnknownOrder as exc:
        print(f"dibs: note: {exc}", file=sys.stderr)


class _Tail:
    """New events in id order, also those whose transaction commits after a later one's."""

    def __init__(self, floor: int) -> None:
        self.floor = floor  # every id up to here was printed (or given up on)
        self.seen: dict[int, float] = {}  # ids above the floor already printed: when

    def fresh(self, rows: list[tuple[int, dict[str, Any]]]) -> list[dict[str, Any]]:
        now = time.monotonic()
        out = []
        for event_id, doc in rows:
            if event_id not in self.seen:
                self.seen[event_id] = now
                out.append(doc)
        self._advance(now)
        return out

    def _advance(self, now: float) -> None:
        while self.seen:
            if self.floor + 1 in self.seen:
                self.floor += 1
                del self.seen[self.floor]
                continue
            lowest = min(self.seen)
            if now - self.seen[lowest] < TAIL_GAP_SECONDS:
                return
            self.floor = lowest - 1  # the gap below it never committed: stop waiting


def cmd_events_tail(args: argparse.Namespace) -> int:
    from engine.run.scheduler import Stopper
    from engine.service import events as event_reads

    types = set(_types(args.type))
    service = open_service(args, read_only=True)
    stopper = Stopper()
    stopper.install()
    with service.store.read() as conn:
        tail = _Tail(event_reads.last_event_id(conn))
    while not stopper.stopped:
        with service.store.read() as conn:
            rows = event_reads.events_after(conn, tail.floor)
        for doc in tail.fresh(rows):
            if not types or doc["type"] in types:
                sys.stdout.write(json.dumps(doc, ensure_ascii=False) + "\n")
        sys.stdout.flush()
        stopper.sleep(TAIL_POLL)
    return 0


def cmd_deliveries_list(args: argparse.Namespace) -> int:
    from engine.service import events as event_reads

    statuses = [s.strip() for s in (args.status or "").split(",") if s.strip()]
    service = open_service(args, read_only=True)
    with service.store.read() as conn:
        rows = event_reads.list_deliveries(conn, statuses)
    if args.json:
        output.print_json(rows)
        return 0
    output.print_records(
        f"Deliveries ({len(rows)})",
        rows,
        ["id", "event", "type", "endpoint", "order", "status", "attempts", "next_at", "last_error"],
        style_column="status",
    )
    return 0


def _ids(values: list[str]) -> list[int]:
    """The ids as numbers; one that is no id (`x`, or more digits than any id: it reached the
    database, a traceback on SQLite) is exit 2 naming it."""
    ids: list[int] = []
    for value in values:
        text = value.strip()
        if not text.isascii() or not text.isdigit() or len(text) > 18:
            raise BadInput(
                f"deliveries retry: {value!r} is not a delivery id: the ids are the whole "
                "numbers of the `id` column of `dibs deliveries list`"
            )
        ids.append(int(text))
    return ids


def cmd_deliveries_retry(args: argparse.Namespace) -> int:
    from engine.service import events as event_reads

    ids = _ids(args.ids)
    service = open_service(args)
    done = service.run(lambda tx: event_reads.retry_deliveries(tx, ids))
    noun = "delivery" if len(done) == 1 else "deliveries"
    print(f"{len(done)} {noun} due again now, with 24 hours of retries")
    return 0


def add_commands(parsers: Mapping[str, Parser]) -> None:
    """`events …` and `deliveries …`."""
    group = parsers["events"].add_subparsers(dest="events_cmd", required=True, parser_class=Parser)
    p = group.add_parser("list", help="recorded events, oldest first")
    p.add_argument("--type", metavar="T[,T…]", help="only these event types")
    p.add_argument("--order", metavar="ID", help="only the events of this order")
    p.add_argument("--since", metavar="TIME", help="only events at or after this ISO-8601 time")
    p.add_argument("--limit", type=int, default=1000, metavar="N", help="the newest N (0: all)")
    p.add_argument("--json", action="store_true", help="the events as JSON")
    p.set_defaults(handler=cmd_events_list)
    p = group.add_parser("tail", help="print new events as JSON lines until stopped")
    p.add_argument("--type", metavar="T[,T…]", help="only these event types")
    p.set_defaults(handler=cmd_events_tail)

    group = parsers["deliveries"].add_subparsers(
        dest="deliveries_cmd", required=True, parser_class=Parser
    )
    p = group.add_parser("list", help="deliveries not yet delivered (or with --status)")
    p.add_argument("--status", metavar="S[,S…]", help="pending, failed, dead or delivered")
    p.add_argument("--json", action="store_true", help="the deliveries as JSON")
    p.set_defaults(handler=cmd_deliveries_list)
    p = group.add_parser("retry", help="make deliveries due again now")
    p.add_argument("ids", nargs="+", metavar="ID", help="delivery ids (from deliveries list)")
    p.set_defaults(handler=cmd_deliveries_retry)
