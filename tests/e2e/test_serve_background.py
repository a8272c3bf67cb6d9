"""`dibs serve` in the background and at its end, a real server process each time: with `--rules`
it delivers events to the rule file's `notify:` endpoints (and follows a reloaded file), and
SIGTERM lets the request in flight and the tick in progress finish before it exits 0."""

from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from engine.store import Store
from tests.helpers import write_locked
from tests.receiver import Receiver, receiving, verify
from tests.serving import SHOPIFY_SECRET, Server, shopify_order, sign

SECRET = "serve-notify-secret"


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'shop.db'}"


def rules_text(url: str, name: str = "wms") -> str:
    return (
        "version: 1\n"
        "rules:\n"
        "  - name: allocate-new\n"
        "    rule: when new order then allocate\n"
        "notify:\n"
        f"  - name: {name}\n"
        f"    url: {url}\n"
        "    events: [order.created]\n"
        f"    secret_env: DIBS_NOTIFY_{name.upper()}_SECRET\n"
    )


def wait_for(check: Callable[[], bool], what: str, server: Server, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}:\n{server.output()}"
        time.sleep(0.05)


def created_orders(receiver: Receiver) -> list[str]:
    return [e["data"]["order"] for e in receiver.events() if e["type"] == "order.created"]


def test_serve_with_rules_delivers_events_and_follows_a_reloaded_file(
    db: str, tmp_path: Path
) -> None:
    env = {"DIBS_NOTIFY_WMS_SECRET": SECRET, "DIBS_NOTIFY_ERP_SECRET": SECRET + "-erp"}
    rules = tmp_path / "rules.yaml"
    with receiving() as wms, receiving() as erp:
        rules.write_text(rules_text(wms.url))
        with Server(db, "--rules", str(rules), "--tick", "0.2", env=env) as server:
            assert server.webhook(shopify_order(7), "orders/create", "n-1").status_code == 200
            wait_for(lambda: created_orders(wms) == ["#7"], "the delivery to wms", server)
            headers, body = wms.requests[0]
            assert verify(SECRET.encode(), headers, body)
            assert headers["X-Dibs-Event-Id"] == str(json.loads(body)["id"])
            # The rule file now names another endpoint: the server follows it.
            rules.write_text(rules_text(erp.url, name="erp"))
            wait_for(lambda: "reloaded" in server.output(), "the reload", server)
            assert server.webhook(shopify_order(8), "orders/create", "n-2").status_code == 200
            wait_for(lambda: created_orders(erp) == ["#8"], "the delivery to erp", server)
            assert verify(b"serve-notify-secret-erp", *erp.requests[0])
            assert created_orders(wms) == ["#7"]
            code = server.stop(signal.SIGTERM)
            log = server.output()
    assert code == 0, log
    assert "Traceback" not in log and SECRET not in log


def test_sigterm_lets_a_webhook_whose_body_is_still_arriving_finish(db: str) -> None:
    body = json.dumps(shopify_order(41)).encode()
    headers = {
        "X-Shopify-Topic": "orders/create",
        "X-Shopify-Webhook-Id": "slow-1",
        "X-Shopify-Hmac-Sha256": sign(SHOPIFY_SECRET, body),
        "Content-Type": "application/json",
    }
    with Server(db) as server:
        half_sent, go_on = threading.Event(), threading.Event()

        def slowly() -> Iterator[bytes]:
            yield body[: len(body) // 2]
            half_sent.set()
            go_on.wait(30)
            yield body[len(body) // 2 :]

        answer = _in_thread(
            lambda: httpx.post(
                server.url + "/webhooks/shopify", content=slowly(), headers=headers, timeout=60
            )
        )
        assert half_sent.wait(30)
        time.sleep(0.5)  # the server has the headers and half the body
        server.process.send_signal(signal.SIGTERM)
        time.sleep(0.5)  # it is shutting down now, with the request in flight
        go_on.set()
        response = answer.result()
        code = server.process.wait(60)
        log = server.output()
    assert response.status_code == 200 and response.json()["status"] == "applied", response.text
    assert code == 0, log
    store = Store.open(db)
    try:
        with store.read() as conn:
            assert [o["id"] for o in _orders(conn)] == ["#41"]
    finally:
        store.dispose()


def test_sigterm_during_a_large_import_answers_it_then_exits_0(db: str) -> None:
    orders = [
        {"id": f"B{n:05d}", "channel": "web", "lines": [{"sku": "MUG", "qty": 1 + n % 3}]}
        for n in range(4000)
    ]
    body = json.dumps(orders).encode()
    with Server(db) as server:
        sent = threading.Event()

        def upload() -> Iterator[bytes]:
            for start in range(0, len(body), 1 << 16):
                yield body[start : start + (1 << 16)]
            sent.set()

        answer = _in_thread(
            lambda: httpx.post(
                server.url + "/api/v1/orders",
                content=upload(),
                headers={**server.auth, "Content-Type": "application/json"},
                timeout=120,
            )
        )
        assert sent.wait(60)
        server.process.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        response = answer.result()
        answered = time.monotonic()
        code = server.process.wait(60)
        log = server.output()
    assert response.status_code == 201, response.text
    assert len(response.json()["orders"]) == len(orders)
    assert code == 0, log
    assert answered > signalled  # it really was in flight when the signal came
    assert "Traceback" not in log


def test_sigterm_during_a_tick_lets_it_commit_whole_then_exits_0(db: str, tmp_path: Path) -> None:
    """The tick holds SQLite's write lock while it runs: the test sees it busy, signals, and
    afterwards the orders whose events were consumed are exactly the allocated ones."""
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "version: 1\nrules:\n  - name: allocate-new\n    rule: when new order then allocate\n"
    )
    path = db.removeprefix("sqlite:///")
    count = 3000
    with Server(db, "--rules", str(rules), "--tick", "0.2") as server:
        assert server.put("/api/v1/inventory/MUG", json={"on_hand": 100 * count}).status_code == 200
        # A tick over 3000 orders takes a fifth of a second or less, and it may start and end
        # while the POST's answer is on its way: post batches until the test sees one running.
        caught = False
        for batch in range(20):
            orders = [
                {
                    "id": f"T{batch:02d}-{n:05d}",
                    "channel": "web",
                    "lines": [{"sku": "MUG", "qty": 1}],
                }
                for n in range(count)
            ]
            assert server.post("/api/v1/orders", json=orders).status_code == 201
            caught = _lock_seen(path, within=1.0)
            if caught:
                break
        assert caught, f"no tick seen holding the write lock in 20 batches:\n{server.output()}"
        server.process.send_signal(signal.SIGTERM)
        code = server.process.wait(120)
        log = server.output()
    assert code == 0, log
    assert "tick failed" not in log and "Traceback" not in log
    store = Store.open(db)
    try:
        with store.read() as conn:
            allocated = {o["id"] for o in _orders(conn) if o["allocation_status"] == "allocated"}
            taken = {
                row[0]
                for row in conn.exec_driver_sql(
                    "SELECT order_id FROM events WHERE type = 'order.created' AND processed"
                )
            }
    finally:
        store.dispose()
    # Committed whole: the orders whose events a tick consumed are exactly those it allocated
    # (a half-written tick would leave events consumed and orders unallocated, or the reverse),
    # and the tick that was running when the signal came took some.
    assert taken and allocated == taken, (len(taken), len(allocated), log)


def _lock_seen(path: str, within: float) -> bool:
    """Whether another connection holds the file's write lock at some moment in `within` s."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if write_locked(path):
            return True
        time.sleep(0.002)
    return False


def _orders(conn: Any) -> list[dict[str, Any]]:
    rows = conn.exec_driver_sql("SELECT id, allocation_status FROM orders ORDER BY id").all()
    return [{"id": r[0], "allocation_status": r[1]} for r in rows]


class _Result:
    def __init__(self, work: Callable[[], httpx.Response]) -> None:
        self.value: httpx.Response | None = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(work,))
        self.thread.start()

    def _run(self, work: Callable[[], httpx.Response]) -> None:
        try:
            self.value = work()
        except BaseException as exc:  # handed to the test
            self.error = exc

    def result(self, timeout: float = 120) -> httpx.Response:
        self.thread.join(timeout)
        if self.error is not None:
            raise self.error
        assert self.value is not None, "no answer"
        return self.value


def _in_thread(work: Callable[[], httpx.Response]) -> _Result:
    return _Result(work)
