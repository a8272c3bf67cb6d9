"""Running `dibs serve`: uvicorn in the main thread; with `--rules` the rule ticks in a
background thread and the outbound deliveries (SPEC §13) in one thread per endpoint.

Requests never wait for a tick: ticks run in their own thread and their own transactions, and
route functions run in FastAPI's thread pool. SIGINT/SIGTERM stop them all: uvicorn stops
accepting and finishes the requests in flight (each is answered), the tick thread finishes its
current tick (one transaction: committed whole, or rolled back whole), and each delivery worker
its attempt in flight; then the process exits 0.
"""

from __future__ import annotations

import gc
import ipaddress
import logging
import os
import signal
import socket
import threading
from collections.abc import Mapping
from types import FrameType
from typing import Any

import anyio.to_thread
import uvicorn

from engine.errors import BadInput, OperationFailed
from engine.run.deliveries import Deliveries, endpoints_of
from engine.run.reload import RuleWatcher
from engine.run.runner import Runner, TickResult
from engine.run.scheduler import Stopper, run_loop
from engine.run.watch import ticker
from engine.service import Service
from engine.web.app import create_app
from engine.web.logs import setup_logging
from engine.web.settings import Settings
from rules.ruleset import RuleSet

log = logging.getLogger("dibs.serve")

#: Threads running route functions and webhook transactions at once (anyio's default is 40).
#: Each holds one pooled database connection while it works, and the pool keeps this many
#: open (`engine.store.database.POOL_SIZE`, with room for the tick and notify threads): more
#: threads would only open and close connections under a burst, which costs PostgreSQL a
#: process each time and is what made latencies spiral; more requests than this wait their
#: turn on the event loop instead.
REQUEST_THREADS = 16


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, settings: Settings) -> None:
    """SPEC §10: without `DIBS_API_TOKEN`, only a loopback address (exit 2 otherwise)."""
    if settings.api_token is None and not is_loopback(host):
        raise BadInput(
            f"refusing to listen on {host}: DIBS_API_TOKEN is not set, so anyone who can reach "
            "the address could use the API; set DIBS_API_TOKEN, or listen on 127.0.0.1"
        )


def check_listen(host: str, port: int) -> None:
    """Can `dibs serve` listen on `host:port`? Tried before the database is opened and before a
    tick runs, so a taken port is one sentence and exit 1 (uvicorn would log its own error and
    exit 3, a code dibs does not use), having written nothing. Port 0 (any free port) always can."""
    if port == 0:
        return
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host.strip("[]"), port, type=socket.SOCK_STREAM
        )[0]
    except (socket.gaierror, UnicodeError) as exc:
        raise BadInput(
            f"--host {host!r} is not an address this machine can listen on: {exc}"
        ) from None
    with socket.socket(family, kind, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            sock.bind(address)
        except OSError as exc:
            reason = (exc.strerror or str(exc)).lower()
            raise OperationFailed(
                f"cannot listen on {host}:{port}: {reason} (another dibs serve or another "
                "program may hold it: stop it, or choose another --port)"
            ) from None


class _Server(uvicorn.Server):
    """uvicorn, with its stop signals also stopping the tick thread."""

    def __init__(self, config: uvicorn.Config, stopper: Stopper) -> None:
        super().__init__(config)
        self.stopper = stopper

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        anyio.to_thread.current_default_thread_limiter().total_tokens = REQUEST_THREADS
        await super().serve(sockets)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self.stopper.event.set()
        super().handle_exit(sig, frame)


class Ticks:
    """The background work of `--rules`, as `dibs run` does it: the tick loop in its thread, and
    the outbound deliveries to the rule file's `notify:` endpoints (SPEC §13) in theirs, which
    never run inside a tick's transaction. A reloaded rule file updates the endpoints."""

    def __init__(
        self,
        service: Service,
        ruleset: RuleSet,
        path: str,
        every: float,
        settings: Settings,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.runner = Runner(service, ruleset)
        self.path = path
        self.every = every
        self.settings = settings
        self.clock = service.clock
        #: Where the endpoints' secrets (`secret_env`) are read: the server's environment.
        self.environ = os.environ if environ is None else environ
        self.deliveries = Deliveries(service.store, service.clock)
        self.thread: threading.Thread | None = None

    def _done(self, result: TickResult | None) -> None:
        if result is not None:
            self.settings.ticks.ticked(self.clock())
        # The dashboard's recent ticks: those that did something, and failures.
        if result is None:
            self.settings.ticks.remember({"at": self.clock().isoformat(), "failed": True})
        elif result.did_something:
            self.settings.ticks.remember({**result.as_json(), "summary": result.summary()})

    def _reloaded(self, fresh: RuleSet) -> None:
        self.deliveries.update(endpoints_of(fresh, self.environ))

    def start(self, stopper: Stopper) -> threading.Thread:
        """Start delivering and ticking; `stopper` ends the loop after the tick in progress."""
        watcher = RuleWatcher(self.path, self.runner.ruleset, stopper.event)
        tick = ticker(self.runner, watcher, self._done, on_reload=self._reloaded)
        # The endpoints now, not in __init__: a missing secret is logged by the server's logging.
        self.deliveries.update(endpoints_of(self.runner.ruleset, self.environ))
        self.deliveries.start()
        self.thread = threading.Thread(
            target=run_loop, args=(tick, self.every, self.clock, stopper), name="dibs-ticks"
        )
        self.thread.start()
        return self.thread

    def stop(self) -> None:
        """After the stop signal: wait for the tick in progress to commit (or roll back), then
        for the delivery attempts in flight; what is still queued waits for the next start."""
        if self.thread is not None:
            self.thread.join()
        self.deliveries.stop()


def serve(
    service: Service,
    settings: Settings,
    host: str,
    port: int,
    ticks: Ticks | None = None,
    log_format: str = "text",
) -> int:
    """Serve until SIGINT/SIGTERM; 0 after a clean stop, 1 when the port cannot be taken."""
    check_bind(host, settings)
    setup_logging(log_format)
    app = create_app(service, settings, ruleset=(lambda: ticks.runner.ruleset) if ticks else None)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,
        access_log=False,  # dibs.access logs one line per request instead, without headers
        lifespan="off",
        timeout_graceful_shutdown=30,
        server_header=False,
    )
    stopper = Stopper()
    # Our handlers stand behind uvicorn's: after its graceful stop uvicorn re-raises the signal
    # it caught into the handler it replaced, which must then only note it, not kill us.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _note_signal(stopper))
    server = _Server(config, stopper)
    if settings.api_token is None:
        log.warning("DIBS_API_TOKEN is not set: the API is open to anyone on this machine")
    _freeze_startup_objects()
    if ticks is not None:
        ticks.start(stopper)
    code = 0
    try:
        server.run()
    except SystemExit as exc:  # uvicorn exits 1 when it cannot bind
        code = exc.code if isinstance(exc.code, int) else 1
    finally:
        stopper.event.set()
        if ticks is not None:
            ticks.stop()
    if not server.started:  # it could not bind after all (a race with check_listen)
        code = 1
    log.info("dibs serve: stopped")
    return code


def _freeze_startup_objects() -> None:
    """Leave what the start built (modules, the app, SQLAlchemy's and pydantic's caches: some
    140k objects) out of every later garbage collection. A full collection walked all of them
    while holding the GIL, stopping every request for 50-140 ms under load: the p99."""
    gc.collect()
    gc.freeze()


def _note_signal(stopper: Stopper) -> Any:
    def handle(signum: int, _frame: FrameType | None) -> None:
        stopper.event.set()

    return handle
