"""`dibs serve` end to end: a real server process on a free loopback port, as a user runs it."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.serving import ROOT, SHOPIFY_SECRET, TOKEN, Server, shopify_order


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'shop.db'}"


def test_token_webhooks_redelivery_cancellation_and_sigterm(db: str) -> None:
    with Server(db, "--log-format", "json") as server:
        # The token: refused without it or with a wrong one, accepted with it.
        assert server.client.get("/api/v1/orders").status_code == 401
        wrong = {"Authorization": "Bearer nope"}
        assert server.client.get("/api/v1/orders", headers=wrong).status_code == 401
        assert server.get("/api/v1/orders").json() == {"orders": [], "next": None}
        assert server.put("/api/v1/inventory/MUG-12OZ", json={"on_hand": 10}).status_code == 200
        # A forged signature writes nothing; a correct one creates the order.
        order = shopify_order(1001)
        forged = server.webhook(order, "orders/create", "d-1", secret="not the secret")
        assert forged.status_code == 401
        assert server.get("/api/v1/orders").json()["orders"] == []
        created = server.webhook(order, "orders/create", "d-1")
        assert created.status_code == 200 and created.json()["report"]["created"] == ["#1001"]
        # Shopify retries: the same delivery again changes nothing.
        again = server.webhook(order, "orders/create", "d-1")
        assert again.json()["status"] == "duplicate"
        assert len(server.get("/api/v1/orders").json()["orders"]) == 1
        # A cancellation.
        cancelled = server.webhook(order, "orders/cancelled", "d-2")
        assert cancelled.json()["report"]["cancelled"] == ["#1001"]
        assert server.get("/api/v1/orders/%231001").json()["status"] == "cancelled"
        code = server.stop(signal.SIGTERM)
        log = server.output()
    assert code == 0, log
    assert "Traceback" not in log
    assert TOKEN not in log and SHOPIFY_SECRET not in log
    assert '"path": "/webhooks/shopify"' in log and '"status": 401' in log
    assert "Hmac" not in log and "Bearer" not in log


def test_with_rules_a_webhook_order_is_allocated_within_two_ticks(db: str, tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "version: 1\nrules:\n  - name: allocate-new\n    rule: when new order then allocate\n"
    )
    with Server(db, "--rules", str(rules), "--tick", "0.5") as server:
        for sku in ("MUG-12OZ", "BLANKET-GRY"):
            server.put(f"/api/v1/inventory/{sku}", json={"on_hand": 10})
        _wait_ticks(server, 1)  # the loop is running
        assert server.webhook(shopify_order(7), "orders/create", "t-1").status_code == 200
        # Counted from the answer, not from before the request: on a busy machine a delivery
        # can outlast a tick or two. The first tick to end now may have begun before the
        # commit; the second began after it.
        answered = [server.client.get("/api/v1/health").json()["last_tick"]]
        _wait_ticks(server, 2, after=answered)
        doc = server.get("/api/v1/orders/%237").json()
        assert doc["allocation_status"] == "allocated", doc
        health = server.client.get("/api/v1/health").json()
        assert health["pending_events"] == 0 and health["last_tick"] is not None
        code = server.stop(signal.SIGINT)
    assert code == 0


def _wait_ticks(server: Server, count: int, after: list[str] | None = None) -> list[str]:
    """Poll health until `count` new `last_tick` values were seen (two ticks = two changes)."""
    seen = list(after or [])
    start = len(seen)
    deadline = time.monotonic() + 60
    while len(seen) - start < count:
        assert time.monotonic() < deadline, f"no tick:\n{server.output()}"
        last = server.client.get("/api/v1/health").json()["last_tick"]
        if last is not None and (not seen or seen[-1] != last):
            seen.append(last)
        time.sleep(0.05)
    return seen


def test_without_a_token_only_loopback_is_served(tmp_path: Path) -> None:
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "engine.cli",
            "--db",
            f"sqlite:///{tmp_path / 'x.db'}",
            "serve",
            "--host",
            "0.0.0.0",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2, result
    assert "DIBS_API_TOKEN is not set" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "x.db").exists()  # refused before the database was touched


def test_without_a_token_the_loopback_api_is_open(db: str) -> None:
    with Server(db, token=None) as server:
        assert server.client.get("/api/v1/orders").status_code == 200
        assert server.stop() == 0


def test_json_logs_carry_the_rule_file_s_warnings_as_json_lines(db: str, tmp_path: Path) -> None:
    """`serve --rules FILE --log-format json` printed the file's warnings as plain text
    before its first JSON line."""
    import json

    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "version: 1\nrules:\n  - name: a\n    rule: when new order if channel in [] then allocate\n"
    )
    with Server(db, "--rules", str(rules), "--log-format", "json") as server:
        server.stop(signal.SIGTERM)
        log = server.output()
    docs = [json.loads(line) for line in log.splitlines() if line.strip()]
    warned = [d["message"] for d in docs if d["level"] == "warning"]
    assert any(f"{rules}:4:" in m and "never matches" in m for m in warned), log
