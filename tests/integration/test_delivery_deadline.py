"""Each delivery attempt has one deadline, the timeout, for connecting, sending and the answer's
headers: a receiver that drips its status line and headers a byte at a time (each byte well
within the timeout) cannot hold an attempt past it."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from engine.run.deliveries import Deliveries
from engine.run.runner import Runner
from engine.service import Service
from engine.store import Store
from tests.conftest import FakeClock
from tests.helpers import order
from tests.integration.test_deliveries import deliveries, endpoint, notify_rules
from tests.receiver import receiving

ANSWER = b"HTTP/1.1 200 OK\r\nX-Slowly: " + b"." * 40 + b"\r\nContent-Length: 0\r\n\r\n"


@contextmanager
def header_dripping_receiver(every: float) -> Iterator[str]:
    """127.0.0.1 on a free port: reads the request, then sends its answer's status line and
    headers one byte every `every` seconds. Stopped (and its connections ended) on exit."""
    server = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def answer(conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError):  # dibs hangs up at its deadline
            conn.settimeout(None)
            conn.recv(65536)
            for byte in ANSWER:
                if stop.wait(every):
                    return
                conn.sendall(bytes([byte]))

    server.settimeout(0.05)  # accept() wakes up to see `stop`

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=answer, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}/hook"
    finally:
        stop.set()
        thread.join(5)
        server.close()


def test_a_receiver_dripping_its_headers_is_cut_off_at_the_timeout(
    store: Store, tmp_path: Path
) -> None:
    clock = FakeClock()
    svc = Service(store, clock)
    svc.add_orders([order("A1", ("W", 1))])
    # 70 bytes at 0.05 s: 3.5 s for the whole answer, each byte 10 times faster than the timeout.
    with header_dripping_receiver(every=0.05) as url:
        Runner(svc, notify_rules(tmp_path, ("slow", url, ["order.created"]))).tick()
        sender = Deliveries(store, clock, [endpoint("slow", url, [])], timeout=0.5)
        started = time.monotonic()
        tally = sender.run_once()["slow"]
        took = time.monotonic() - started
    assert (tally.delivered, tally.failed) == (0, 1)
    [failed] = deliveries(store)
    assert (failed["status"], failed["last_error"]) == ("failed", "no answer within 0.5 s")
    assert took < 2.5, took  # the whole answer would have taken 3.5 s


def test_a_prompt_receiver_is_still_delivered_to_on_a_reused_connection(
    store: Store, tmp_path: Path
) -> None:
    """The deadline is per attempt: a connection kept from an earlier attempt is not held to
    that attempt's deadline."""
    clock = FakeClock()
    svc = Service(store, clock)
    svc.add_orders([order(f"O{n}", ("W", 1), minutes=n) for n in range(3)])
    with receiving([("sleep", 0.3, 200)]) as rx:
        Runner(svc, notify_rules(tmp_path, ("wms", rx.url, ["order.created"]))).tick()
        sender = Deliveries(store, clock, [endpoint("wms", rx.url, [])], timeout=1.0)
        assert sender.run_once()["wms"].delivered == 3
    assert {d["status"] for d in deliveries(store)} == {"delivered"}
