"""Outbound webhooks (SPEC §13): deliver the queued events to the rule file's `notify:` endpoints.

`Deliveries` is the component `dibs run` (and `dibs serve --rules`) starts next to its ticks:

    deliveries = Deliveries(store, clock, endpoints_of(ruleset, os.environ))
    deliveries.start()            # one worker thread per endpoint
    deliveries.update(endpoints)  # after the rule file was reloaded
    deliveries.stop()             # on shutdown: finishes the attempt in flight
    deliveries.run_once()         # `--once`: one attempt at every due delivery, then return

The tick queues deliveries in its own transaction (`queue_rows`); the workers never run inside
it. Each endpoint has its own thread and its own queue, so a slow or dead endpoint delays
nobody else. An attempt is a `POST` of `{"id", "type", "at", "data"}` signed with
`X-Dibs-Signature: sha256=<hex HMAC-SHA256 of the body>`; a 2xx answer is delivered, anything
else (or no answer within the timeout) is retried with exponential backoff and jitter until 24
hours have passed, then the delivery is dead. Without its secret an endpoint is not sent
anything (dibs never delivers unsigned); its deliveries wait.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from engine.run import delivery_http
from engine.service.records import Clock
from engine.store import Store
from engine.store import delivery_queue as queue
from engine.store.outbox import Pending
from rules.ruleset import NotifySpec, RuleSet

if TYPE_CHECKING:  # httpx is imported when a delivery is sent: a tick without one never pays
    import httpx

log = logging.getLogger("dibs.run")

TIMEOUT = 5.0  # seconds an endpoint has to answer
RETRY_FOR = timedelta(hours=24)
FIRST_RETRY = timedelta(seconds=10)
LONGEST_WAIT = timedelta(hours=1)
LEASE = timedelta(minutes=2)  # a claimed batch must be attempted by then, or it is due again
BATCH = 10  # deliveries claimed at once (BATCH * TIMEOUT stays well inside LEASE)
#: Connection failures or timeouts in a row after which a pass over an endpoint stops early.
GIVE_UP_AFTER = 3


@dataclass(frozen=True)
class Endpoint:
    """A `notify:` endpoint with its secret; `secret` None: the variable is not set."""

    name: str
    url: str
    events: frozenset[str]
    secret_env: str
    secret: bytes | None


def endpoints_of(ruleset: RuleSet, environ: Mapping[str, str]) -> tuple[Endpoint, ...]:
    """The rule set's endpoints, each with its secret from `environ` (the caller's)."""
    return tuple(_endpoint(spec, environ) for spec in ruleset.notify)


def _endpoint(spec: NotifySpec, environ: Mapping[str, str]) -> Endpoint:
    secret = environ.get(spec.secret_env)
    return Endpoint(
        spec.name, spec.url, spec.events, spec.secret_env, secret.encode() if secret else None
    )


def queue_rows(
    claimed: Iterable[Pending], notify: Sequence[NotifySpec]
) -> list[tuple[int, str, str | None]]:
    """(event id, endpoint, order id) for every subscribed endpoint of every claimed event."""
    return [
        (event_id, spec.name, order_id)
        for event_id, kind, order_id, _ in claimed
        for spec in notify
        if kind in spec.events
    ]


def retry_at(
    attempts: int, now: datetime, deadline: datetime, rand: Callable[[], float] = random.random
) -> datetime | None:
    """When to try again after `attempts` failed attempts, or None: the delivery is dead.

    Exponential (10 s, 20 s, 40 s, … at most an hour) with jitter (half to all of the wait, so
    many deliveries failing together do not come back together), never past the deadline: the
    last attempt is made at it.
    """
    if now >= deadline:
        return None
    wait = min(FIRST_RETRY * (1 << min(max(attempts - 1, 0), 20)), LONGEST_WAIT)
    return min(now + wait * (0.5 + rand() / 2), deadline)


@dataclass
class Tally:
    """What one pass over an endpoint did."""

    delivered: int = 0
    failed: int = 0
    dead: int = 0
    stopped_early: bool = False

    @property
    def attempts(self) -> int:
        return self.delivered + self.failed + self.dead


class Deliveries:
    """Delivers queued events to the endpoints, one worker thread per endpoint."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        endpoints: Sequence[Endpoint] = (),
        *,
        timeout: float = TIMEOUT,
        poll: float = 1.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.timeout = timeout
        self.poll = poll
        self.transport = transport
        self._endpoints: dict[str, Endpoint] = {}
        self._workers: dict[str, tuple[threading.Thread, threading.Event]] = {}
        self._running = False
        self._lock = threading.Lock()
        #: When the endpoints were last taken (the rule file read): deliveries queued before
        #: then for an endpoint not among them are given up.
        self._taken_at = clock()
        self.update(endpoints)

    # ---------------------------------------------------------------------------- config

    @property
    def endpoints(self) -> tuple[Endpoint, ...]:
        with self._lock:
            return tuple(self._endpoints.values())

    def update(self, endpoints: Sequence[Endpoint]) -> None:
        """Take a new set of endpoints (the rule file was reloaded); workers follow it."""
        fresh = {e.name: e for e in endpoints}
        for endpoint in fresh.values():
            old = self._endpoints.get(endpoint.name)
            if endpoint.secret is None and (old is None or old.secret is not None):
                log.error(
                    "notify %s: $%s is not set; dibs does not deliver unsigned, so its "
                    "deliveries wait until the variable is set and dibs restarts",
                    endpoint.name,
                    endpoint.secret_env,
                )
        with self._lock:
            self._endpoints = fresh
            self._taken_at = self.clock()
        if self._running:
            self._sync_workers()
            self.give_up_removed()

    def endpoint(self, name: str) -> Endpoint | None:
        with self._lock:
            return self._endpoints.get(name)

    # ---------------------------------------------------------------------- the workers

    def start(self) -> None:
        """Start one worker thread per endpoint (daemon threads; `stop` ends them)."""
        self._running = True
        self._sync_workers()
        self.give_up_removed()

    def stop(self, wait: float = TIMEOUT + 5) -> None:
        """Ask every worker to stop after the attempt in flight, and wait for them."""
        self._running = False
        workers = list(self._workers.values())
        self._workers.clear()
        for _, stopping in workers:
            stopping.set()
        for thread, _ in workers:
            thread.join(wait)

    def give_up_removed(self) -> dict[str, int]:
        """Mark dead the open deliveries of endpoints the rule file no longer has, so they stop
        waiting (and show in `dibs status`); returns how many, per endpoint. Only those queued
        before the endpoints were taken: a delivery queued since was queued by a process whose
        rule file has its endpoint (a reload reaches several servers one after another)."""
        with self._lock:
            known, before = set(self._endpoints), self._taken_at
        now = self.clock()
        try:
            gone = self.store.transaction(
                lambda conn: queue.give_up_removed(conn, known, before, now)
            )
        except Exception as exc:  # the next reload, start or pass tries again
            log.error("notify: giving up the deliveries of removed endpoints: %s", exc)
            return {}
        for name, n in sorted(gone.items()):
            log.warning(
                "notify %s: %s; %d undelivered given up (dead)", name, queue.removed_reason(name), n
            )
        return gone

    def _sync_workers(self) -> None:
        wanted = {e.name for e in self.endpoints}
        for name in list(self._workers):
            if name not in wanted:
                thread, stopping = self._workers.pop(name)
                stopping.set()
        for name in sorted(wanted - set(self._workers)):
            stopping = threading.Event()
            thread = threading.Thread(
                target=self._work, args=(name, stopping), name=f"dibs-notify-{name}", daemon=True
            )
            self._workers[name] = (thread, stopping)
            thread.start()

    def _work(self, name: str, stopping: threading.Event) -> None:
        with self._client() as client:
            while not stopping.is_set():
                try:
                    tally = self.deliver_due(name, client, stopping)
                except Exception as exc:  # a worker never dies: the database may be back soon
                    log.error("notify %s: %s", name, exc)
                    tally = Tally(stopped_early=True)
                if tally.attempts == 0 or tally.stopped_early:
                    stopping.wait(self.poll * (10 if tally.stopped_early else 1))

    def _client(self) -> httpx.Client:
        return delivery_http.client(self.timeout, self.transport)

    # ---------------------------------------------------------------------------- passes

    def run_once(self) -> dict[str, Tally]:
        """One attempt at every delivery due now, every endpoint in its own thread."""
        self.give_up_removed()
        started = self.clock()
        tallies: dict[str, Tally] = {}

        def one(name: str) -> None:
            with self._client() as client:
                tallies[name] = self.deliver_due(name, client, due_by=started)

        threads = [
            threading.Thread(target=one, args=(e.name,), name=f"dibs-notify-{e.name}")
            for e in self.endpoints
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return tallies

    def deliver_due(
        self,
        name: str,
        client: httpx.Client,
        stopping: threading.Event | None = None,
        due_by: datetime | None = None,
    ) -> Tally:
        """Attempt the due deliveries of one endpoint until none is left (or it stops
        answering, or `stopping` is set). With `due_by`, only those due by then."""
        tally = Tally()
        in_a_row = 0
        while stopping is None or not stopping.is_set():
            endpoint = self.endpoint(name)
            if endpoint is None or endpoint.secret is None:
                return tally
            batch = self._claim(name, due_by)
            if not batch:
                return tally
            for index, due in enumerate(batch):
                if (stopping is not None and stopping.is_set()) or in_a_row >= GIVE_UP_AFTER:
                    self._release([d.id for d in batch[index:]])
                    tally.stopped_early = in_a_row >= GIVE_UP_AFTER
                    return tally
                unreachable = self._attempt(endpoint, client, due, tally)
                in_a_row = in_a_row + 1 if unreachable else 0
        return tally

    def _claim(self, name: str, due_by: datetime | None) -> list[queue.Due]:
        now = self.clock()
        return self.store.transaction(
            lambda conn: queue.claim_due(conn, name, now, now + LEASE, BATCH, due_by)
        )

    def _release(self, ids: list[int]) -> None:
        self.store.transaction(lambda conn: queue.release(conn, ids))

    def _attempt(
        self, endpoint: Endpoint, client: httpx.Client, due: queue.Due, tally: Tally
    ) -> bool:
        """POST one delivery and record the outcome; True when the endpoint did not answer."""
        assert endpoint.secret is not None
        status, error = delivery_http.post(client, endpoint.url, endpoint.secret, due, self.timeout)
        now = self.clock()
        delivered = error is None
        again = None if delivered else retry_at(due.attempts + 1, now, due.deadline)
        if not delivered and self.endpoint(endpoint.name) is None:
            # Removed while this attempt was in flight: nobody would retry it.
            again, error = None, f"{error}; {queue.removed_reason(endpoint.name)}"
        outcome = self.store.transaction(
            lambda conn: queue.record_attempt(
                conn,
                due.id,
                now,
                delivered=delivered,
                http_status=status,
                error=error,
                retry_at=again,
            )
        )
        if outcome == queue.DELIVERED:
            tally.delivered += 1
        elif outcome == queue.FAILED:
            tally.failed += 1
            log.warning(
                "notify %s: event %s: %s; retrying at %s", endpoint.name, due.event_id, error, again
            )
        else:
            tally.dead += 1
            log.error(
                "notify %s: event %s: %s; given up (dead)",
                endpoint.name,
                due.event_id,
                error,
            )
        return status is None
