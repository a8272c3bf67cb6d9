"""`dibs status` tells an operator that a receiver is down: per endpoint, the deliveries
pending, failed (retrying) and dead, and the newest failure with its reason, on both backends."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from engine.cli.status import _show
from engine.run.deliveries import Deliveries
from engine.run.runner import Runner
from engine.run.status import status
from engine.service import Service
from engine.store import Store
from tests.conftest import FakeClock
from tests.integration.test_deliveries import deliveries, endpoint, notify_rules, shop
from tests.receiver import receiving


def test_status_counts_what_each_endpoint_has_not_delivered(
    store: Store, tmp_path: Path, capsys
) -> None:
    clock = FakeClock()
    svc: Service = shop(store, clock)
    with receiving([503]) as down, receiving() as up:
        rules = notify_rules(
            tmp_path,
            ("wms", down.url, ["order.created"]),
            ("chat", up.url, ["order.created"]),
            ("quiet", up.url, ["order.shipped"]),
        )
        Runner(svc, rules).tick()
        before = status(svc, rules)["deliveries"]
        assert before == [
            {"endpoint": "chat", "pending": 2, "failed": 0, "dead": 0, "last_failure": None},
            {"endpoint": "quiet", "pending": 0, "failed": 0, "dead": 0, "last_failure": None},
            {"endpoint": "wms", "pending": 2, "failed": 0, "dead": 0, "last_failure": None},
        ]
        sender = Deliveries(
            store,
            clock,
            [endpoint("wms", down.url, []), endpoint("chat", up.url, [])],
        )
        sender.run_once()
        failed_at = clock.now
        doc = status(svc, rules)
        chat, quiet, wms = doc["deliveries"]
        assert chat == {
            "endpoint": "chat",
            "pending": 0,
            "failed": 0,
            "dead": 0,
            "last_failure": None,
        }
        assert quiet["pending"] == 0 and quiet["last_failure"] is None
        assert (wms["pending"], wms["failed"], wms["dead"]) == (0, 2, 0)
        assert wms["last_failure"]["error"] == "HTTP 503"
        assert wms["last_failure"]["http_status"] == 503
        assert datetime.fromisoformat(wms["last_failure"]["at"]) <= failed_at
        # `deliveries list --json` tells each one's last failure time too.
        listed = [d for d in deliveries(store, ("failed",)) if d["endpoint"] == "wms"]
        assert max(d["last_failed_at"] for d in listed) == wms["last_failure"]["at"]
        # 24 hours of 503: dead, and still told.
        for _ in range(30):
            clock.advance(hours=1, minutes=1)
            sender.run_once()
        wms = status(svc, rules)["deliveries"][2]
        assert (wms["pending"], wms["failed"], wms["dead"]) == (0, 0, 2)
        assert wms["last_failure"]["error"] == "HTTP 503"
        assert datetime.fromisoformat(wms["last_failure"]["at"]) > failed_at
        _show(status(svc, rules))
    text = capsys.readouterr().out
    assert "deliveries to wms: 0 pending, 0 failed, 2 dead; last failure " in text
    assert ": HTTP 503" in text
    assert "deliveries to chat: 0 pending, 0 failed, 0 dead" in text


def test_without_a_rule_file_status_shows_the_endpoints_with_undelivered_deliveries(
    store: Store, tmp_path: Path, capsys
) -> None:
    clock = FakeClock()
    svc = shop(store, clock)
    assert status(svc)["deliveries"] == []
    rules = notify_rules(tmp_path, ("wms", "http://127.0.0.1:9/hook", ["order.created"]))
    Runner(svc, rules).tick()
    assert status(svc)["deliveries"] == [
        {"endpoint": "wms", "pending": 2, "failed": 0, "dead": 0, "last_failure": None}
    ]
    _show(status(svc))
    assert "deliveries to wms: 2 pending, 0 failed, 0 dead" in capsys.readouterr().out
