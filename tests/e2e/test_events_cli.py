"""SPEC §13 through the real command: events list|tail, deliveries list|retry, notify in rule
files, rule tests with steps, and a kill -9 of `dibs run` in the middle of its deliveries."""

from __future__ import annotations

import json
import selectors
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import DIBS, Dibs, dibs_env
from tests.e2e.test_run import Running, wait_for
from tests.receiver import receiving, verify

SECRET = "e2e-secret"


@pytest.fixture
def running(dibs: Dibs) -> Iterator[Callable[..., Running]]:
    """Start `dibs run` in the background; whatever is still running is killed at the end."""
    started: list[Running] = []

    def start(*args: str, env: dict[str, str] | None = None) -> Running:
        started.append(Running(dibs, *args, env=env))
        return started[-1]

    yield start
    for run in started:
        if run.proc.poll() is None:
            run.proc.kill()
            run.proc.wait(10)


def rules_file(path: Path, url: str, events: list[str], extra_rules: str = "") -> Path:
    path.write_text(
        "version: 1\n"
        "rules:\n"
        "  - name: retry\n"
        "    rule: when stock released then allocate\n"
        f"{extra_rules}"
        "notify:\n"
        "  - name: wms\n"
        f"    url: {url}\n"
        f"    events: [{', '.join(events)}]\n"
        "    secret_env: DIBS_NOTIFY_WMS_SECRET\n"
    )
    return path


def two_orders_one_widget(dibs: Dibs) -> None:
    dibs("inventory", "set", "W", "1")
    dibs("orders", "add", "A1", "--channel", "web", "--line", "W:1", "--placed-at", "2026-01-01")
    dibs("orders", "add", "A2", "--channel", "web", "--line", "W:1", "--placed-at", "2026-01-02")
    dibs("allocate", "A1", "A2")


def test_events_list_filters_and_refuses_bad_input(dibs: Dibs) -> None:
    two_orders_one_widget(dibs)
    dibs("orders", "cancel", "A1")
    every = dibs.json("events", "list")
    assert {
        "inventory.changed",
        "order.created",
        "allocation.changed",
        "stock.released",
        "order.cancelled",
    } == {e["type"] for e in every}
    assert all(set(e) == {"id", "type", "at", "data"} for e in every)
    released = dibs.json("events", "list", "--type", "stock.released")
    assert [e["data"] for e in released] == [
        {"order": "A1", "sku": "W", "warehouse": "main", "qty": 1, "cause": "cancel", "rule": None}
    ]
    mine = dibs.json("events", "list", "--order", "A2")
    assert [(e["type"], e["data"].get("after")) for e in mine] == [
        ("order.created", None),
        ("allocation.changed", "could_not_allocate"),
    ]
    assert dibs.json("events", "list", "--since", "2999-01-01") == []
    assert len(dibs.json("events", "list", "--limit", "2")) == 2
    table = dibs("events", "list").stdout
    assert "stock.released" in table and "A1" in table
    bad = dibs("events", "list", "--type", "stock.relased", expect=2)
    assert "did you mean 'stock.released'" in bad.stderr
    assert "ISO-8601" in dibs("events", "list", "--since", "yesterday", expect=2).stderr


def test_events_tail_prints_new_events_until_interrupted(dibs: Dibs) -> None:
    dibs("inventory", "set", "W", "1")  # old news: not printed
    tail = subprocess.Popen(
        [DIBS, "--db", dibs.db, "events", "tail"],
        cwd=dibs.cwd,
        env=dibs_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert tail.stdout is not None
        ready = selectors.DefaultSelector()
        ready.register(tail.stdout, selectors.EVENT_READ)
        # It prints what happens once it has taken its starting point, which on a loaded machine
        # may be seconds after it was started (an order added before that is old news too): add
        # orders until one is printed, within a minute.
        added: list[str] = []
        deadline = time.monotonic() + 60
        while not ready.select(timeout=0.5):
            assert time.monotonic() < deadline and tail.poll() is None, "tail printed nothing"
            added.append(f"A{len(added) + 1}")
            dibs("orders", "add", added[-1], "--channel", "web", "--line", "W:1")
        doc = json.loads(tail.stdout.readline())
        assert doc["type"] == "order.created" and doc["data"]["order"] in added
        tail.send_signal(signal.SIGINT)
        assert tail.wait(10) == 0
        assert "Traceback" not in (tail.stderr.read() if tail.stderr else "")
    finally:
        if tail.poll() is None:
            tail.kill()
            tail.wait(5)


def test_rules_check_validates_notify(dibs: Dibs, tmp_path: Path) -> None:
    good = rules_file(tmp_path / "good.yaml", "https://wms.example.com/dibs", ["order.shipped"])
    out = dibs("rules", "check", str(good))
    assert "1 notify endpoint, " in out.stdout
    assert "DIBS_NOTIFY_WMS_SECRET is not set" in out.stderr
    assert "good.yaml:9:17: warning" in out.stderr  # the line of secret_env
    quiet = dibs("rules", "check", str(good), env={"DIBS_NOTIFY_WMS_SECRET": "x"})
    assert "not set" not in quiet.stderr
    bad = rules_file(tmp_path / "bad.yaml", "ftp://wms.example.com", ["order.shiped"])
    err = dibs("rules", "check", str(bad), expect=2).stderr
    assert "bad.yaml:7:10: error: url `ftp://wms.example.com` has `ftp:`" in err
    assert "'order.shiped' is not one of" in err


def test_rule_tests_with_steps(dibs: Dibs, tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(
        """version: 1
rules:
  - name: new
    rule: when new order then allocate
  - name: retry
    rule: when stock released then allocate
  - name: review
    rule: when order overallocated then tag "review"
  - name: restock
    rule: when inventory received then allocate
tests:
  - name: a cancel gives the widget to the waiting order
    inventory: {W: 1}
    orders:
      - {id: A1, channel: web, placed_at: "2026-01-01T09:00:00Z", lines: [{sku: W, qty: 1}]}
      - {id: A2, channel: web, placed_at: "2026-01-01T10:00:00Z", lines: [{sku: W, qty: 1}]}
    steps:
      - tick: 1
        expect: {A1: allocated, A2: could_not_allocate}
      - cancel: A1
      - tick
      - expect: {A2: allocated}
      - set: {W: 0}
        expect: {A2: overallocated}
      - receive: {W: 2}
        expect: {A2: allocated}
      - orders:
          - {id: A3, channel: web, placed_at: "2026-01-02T09:00:00Z", lines: [{sku: W, qty: 1}]}
      - tick
    expect: {A3: allocated}
  - name: the old one-tick form still works
    inventory: {W: 1}
    orders:
      - {id: B1, channel: web, lines: [{sku: W, qty: 1}]}
    expect: {B1: allocated}
  - name: a wrong expectation after a step names the step
    inventory: {W: 1}
    orders:
      - {id: C1, channel: web, lines: [{sku: W, qty: 1}]}
    steps:
      - tick
      - ship: C1
        expect: {C1: allocated}
"""
    )
    out = dibs("rules", "test", str(path), expect=1).stdout
    assert "PASS  a cancel gives the widget to the waiting order" in out
    assert "PASS  the old one-tick form still works" in out
    assert "after step 2 (line 42, ship C1): C1: expected allocated, got unallocated" in out
    assert "2 passed, 1 failed" in out


def test_explain_and_preview_know_the_new_triggers(dibs: Dibs, tmp_path: Path) -> None:
    two_orders_one_widget(dibs)
    rules = rules_file(tmp_path / "rules.yaml", "https://wms.example.com/x", ["order.shipped"])
    dibs("run", str(rules), "--once")  # consume what happened so far
    dibs("orders", "cancel", "A1")
    preview = json.loads(dibs("rules", "preview", str(rules), "--json").stdout)
    [a2] = [o for o in preview["orders"] if o["id"] == "A2"]
    assert (a2["matched_rules"], a2["after"]) == (["retry"], "allocated")
    explained = json.loads(dibs("explain", "A2", "--rules", str(rules), "--json").stdout)
    assert explained["rules"][0]["trigger"] == "when stock released"
    dibs("run", str(rules), "--once")
    assert dibs.json("orders", "show", "A2")["allocation_status"] == "allocated"


def test_deliveries_list_and_retry(dibs: Dibs, tmp_path: Path) -> None:
    with receiving([500]) as rx:
        rules = rules_file(tmp_path / "rules.yaml", rx.url, ["order.created"])
        dibs("orders", "add", "A1", "--channel", "web", "--line", "W:1")
        env = {"DIBS_NOTIFY_WMS_SECRET": SECRET}
        log = dibs("run", str(rules), "--once", env=env).stderr
        assert "notify wms: 0 delivered, 1 failed" in log
        [failed] = dibs.json("deliveries", "list")
        assert (failed["status"], failed["attempts"], failed["last_error"]) == (
            "failed",
            1,
            "HTTP 500",
        )
        assert dibs.json("deliveries", "list", "--status", "delivered") == []
        rx.answers = [200]
        assert dibs("deliveries", "retry", str(failed["id"])).stdout.startswith("1 delivery due")
        dibs("run", str(rules), "--once", env=env)
        assert dibs.json("deliveries", "list") == []
        headers, body = rx.requests[0]
        assert verify(SECRET.encode(), headers, body)
        assert (
            "was delivered already"
            in dibs("deliveries", "retry", str(failed["id"]), expect=1).stderr
        )
        assert "no delivery with id 99" in dibs("deliveries", "retry", "99", expect=1).stderr
        for bad in ("x", "99999999999999999999999", "1.5"):  # the long one was a traceback
            error = dibs("deliveries", "retry", bad, expect=2).stderr
            assert f"{bad!r} is not a delivery id" in error and "Traceback" not in error
        dibs("deliveries", "list", "--status", "lost", expect=2)
        table = dibs("deliveries", "list", "--status", "delivered").stdout
        assert "order.created" in table


def test_kill_9_during_deliveries_loses_none(
    dibs: Dibs, tmp_path: Path, running: Callable[..., Running]
) -> None:
    clock = tmp_path / "clock"
    clock.write_text("2026-03-01T12:00:00Z")
    orders = [
        {"id": f"O{n:02d}", "channel": "web", "lines": [{"sku": "W", "qty": 1}]} for n in range(20)
    ]
    (tmp_path / "orders.json").write_text(json.dumps(orders))
    dibs("orders", "import", str(tmp_path / "orders.json"))
    wanted = {e["id"] for e in dibs.json("events", "list", "--type", "order.created")}
    env = {"DIBS_NOTIFY_WMS_SECRET": SECRET, "DIBS_CLOCK_FILE": str(clock)}
    with receiving([("sleep", 0.2, 200)]) as rx:
        rules = rules_file(tmp_path / "rules.yaml", rx.url, ["order.created"])
        first = running(str(rules), "--tick", "0.2", env=env)
        wait_for(lambda: len(rx.ids()) >= 3, "the first deliveries")
        first.proc.kill()  # kill -9: no chance to finish anything
        first.proc.wait(10)
        assert set(rx.ids()) < wanted  # it really died in the middle
        clock.write_text("2026-03-01T12:05:00Z")  # past the dead worker's leases
        second = running(str(rules), "--tick", "0.2", env=env)
        wait_for(lambda: set(rx.ids()) == wanted, "every delivery", timeout=40)
        assert second.stop() == 0
    assert dibs.json("deliveries", "list") == []
    delivered: list[dict[str, Any]] = dibs.json("deliveries", "list", "--status", "delivered")
    assert {d["event"] for d in delivered} == wanted
