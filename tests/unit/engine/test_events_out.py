"""The pure parts of events out: backoff, signatures, what gets queued, `events tail`'s order,
the notify and steps sections of rule files, the new triggers, and docs/events.md's receiver."""

from __future__ import annotations

import hashlib
import hmac
import http.client
import re
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from dsl.parser import parse_rule
from dsl.types import check_rule
from engine.cli import events as events_cli
from engine.run.deliveries import LONGEST_WAIT, queue_rows, retry_at
from engine.run.delivery_http import body_of, signature
from engine.store.delivery_queue import Due
from rules.loader import check_ruleset_bytes
from rules.ruleset import NotifySpec
from rules.vocabulary import ORDER_VOCABULARY

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[3]


def test_backoff_doubles_with_jitter_and_stops_at_the_deadline() -> None:
    deadline = NOW + timedelta(hours=24)
    lows = [retry_at(n, NOW, deadline, rand=lambda: 0.0) for n in range(1, 6)]
    highs = [retry_at(n, NOW, deadline, rand=lambda: 1.0) for n in range(1, 6)]
    assert [(t - NOW).total_seconds() for t in lows if t] == [5, 10, 20, 40, 80]
    assert [(t - NOW).total_seconds() for t in highs if t] == [10, 20, 40, 80, 160]
    late = retry_at(40, NOW, deadline, rand=lambda: 1.0)
    assert late == NOW + LONGEST_WAIT
    assert retry_at(3, deadline - timedelta(seconds=5), deadline) == deadline
    assert retry_at(3, deadline, deadline) is None  # 24 hours are over: dead


def test_signature_is_hex_hmac_sha256_of_the_body() -> None:
    body = b'{"id":1}'
    expected = hmac.new(b"k", body, hashlib.sha256).hexdigest()
    assert signature(b"k", body) == f"sha256={expected}"


def test_body_is_the_event_with_its_order_in_data() -> None:
    due = Due(1, "wms", 0, NOW, 7, "order.shipped", NOW, "A1", {})
    assert (
        body_of(due) == b'{"id":7,"type":"order.shipped","at":"2026-03-01T12:00:00Z",'
        b'"data":{"order":"A1"}}'
    )


def test_only_subscribed_endpoints_are_queued() -> None:
    notify = [
        NotifySpec("a", "http://x", frozenset({"order.shipped"}), "A"),
        NotifySpec("b", "http://y", frozenset({"order.shipped", "stock.released"}), "B"),
    ]
    claimed: list[tuple[int, str, str | None, dict[str, Any]]] = [
        (1, "order.shipped", "A1", {}),
        (2, "stock.released", "A1", {}),
        (3, "order.created", "A2", {}),
    ]
    assert queue_rows(claimed, notify) == [(1, "a", "A1"), (1, "b", "A1"), (2, "b", "A1")]


def test_tail_prints_late_commits_once_and_gives_up_on_gaps(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = [100.0]
    monkeypatch.setattr(events_cli.time, "monotonic", lambda: clock[0])
    tail = events_cli._Tail(10)
    assert [d["id"] for d in tail.fresh([(11, {"id": 11}), (13, {"id": 13})])] == [11, 13]
    assert tail.floor == 11  # 12 may still commit
    assert [d["id"] for d in tail.fresh([(12, {"id": 12}), (13, {"id": 13})])] == [12]
    assert tail.floor == 13 and not tail.seen
    tail.fresh([(15, {"id": 15})])  # 14 never comes (rolled back)
    assert tail.floor == 13
    clock[0] += events_cli.TAIL_GAP_SECONDS + 1
    tail.fresh([(15, {"id": 15})])
    assert tail.floor == 15


def check(text: str) -> tuple[Any, list[str]]:
    ruleset, diagnostics = check_ruleset_bytes(text.encode(), "r.yaml")
    return ruleset, [str(d) for d in diagnostics if d.severity == "error"]


NOTIFY = """version: 1
rules: []
notify:
  - name: wms
    url: {url}
    events: [allocation.changed]
    secret_env: WMS_SECRET
"""


def test_notify_is_read_into_the_rule_set() -> None:
    ruleset, errors = check(NOTIFY.format(url="https://wms.example.com/dibs"))
    assert errors == []
    [spec] = ruleset.notify
    assert (spec.name, spec.url, spec.events, spec.secret_env) == (
        "wms",
        "https://wms.example.com/dibs",
        frozenset({"allocation.changed"}),
        "WMS_SECRET",
    )
    assert spec.secret_at == (7, 17)


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("ftp://x.example", "has `ftp:`"),
        ("wms.example.com/dibs", "has no scheme"),
        ("https://", "names no host"),
        ("http://x.example:99999/", "is not a valid URL"),
    ],
)
def test_notify_urls_must_be_http_or_https_with_a_host(url: str, problem: str) -> None:
    _, errors = check(NOTIFY.format(url=url))
    assert len(errors) == 1 and problem in errors[0] and errors[0].startswith("r.yaml:5:10:")


def test_notify_names_are_unique_and_secret_env_required() -> None:
    text = (
        NOTIFY.format(url="http://a.example")
        + NOTIFY.format(url="http://b.example").split("notify:\n")[1]
    )
    _, errors = check(text)
    assert errors == [
        "r.yaml:8:11: error: duplicate endpoint name `wms` (first at line 4)"
        "\n  hint: endpoint names must be unique in a file"
    ]
    _, errors = check(
        NOTIFY.format(url="http://a.example").replace("    secret_env: WMS_SECRET\n", "")
    )
    assert any("'secret_env' is a required property" in e for e in errors)


def test_a_bad_endpoint_name_is_called_an_endpoint_name() -> None:
    """`name: Bad` under `notify:` was reported as "rule name `Bad` may only use …"."""
    _, errors = check(NOTIFY.format(url="http://a.example").replace("name: wms", "name: Bad WMS"))
    assert errors == [
        "r.yaml:4:11: error: endpoint name `Bad WMS` may only use lowercase letters, digits, "
        "'_' and '-', starting with a letter or digit"
    ]
    _, errors = check("version: 1\nrules:\n  - name: Bad\n    rule: every 1 day then allocate\n")
    assert errors[0].startswith("r.yaml:3:11: error: rule name `Bad` may only use")


STEPS = """version: 1
rules: []
tests:
  - name: t
    orders:
      - {{id: A1, channel: web, lines: [{{sku: W, qty: 1}}]}}
    steps:
{steps}
"""


def test_steps_are_read_in_order_with_their_expectations() -> None:
    ruleset, errors = check(
        STEPS.format(
            steps="      - tick\n      - {cancel: A1, expect: {A1: unallocated}}\n"
            "      - receive: {W: 2}\n      - orders: [{id: B1, channel: web, lines: "
            "[{sku: W, qty: 1}]}]\n      - {tick: 2, expect: {B1: allocated, B1-1: unallocated}}\n"
            "      - edit: {B1: [{sku: W, qty: 2}]}"
        )
    )
    assert errors == []
    steps = ruleset.tests[0].steps
    assert [(s.action, s.label) for s in steps] == [
        ("tick", "tick"),
        ("cancel", "cancel A1"),
        ("receive", "receive W: 2"),
        ("orders", "orders (1 order)"),
        ("tick", "tick 2"),
        ("edit", "edit B1"),
    ]
    assert steps[1].expect == {"A1": "unallocated"}
    assert steps[5].value == {"B1": (("W", 2),)}
    assert ruleset.tests[0].expect == {}


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        ("      - tik", "`tik` is not a step"),
        ("      - {ship: A1, cancel: A1}", "a step does one thing"),
        ("      - cancel: Z9", "`Z9` is not an order of this test"),
        ("      - {expect: {Z9: allocated}}", "`Z9` is not an order of this test"),
        ("      - receive: {W: 0}", "0 is less than the minimum of 1"),
        ("      - receive: {W: {east: 0}}", "0 is less than the minimum of 1"),
        ("      - set: {W: {east: -1}}", "-1 is less than the minimum of 0"),
        ("      - {fly: A1}", "unknown key `fly`"),
    ],
)
def test_bad_steps_are_refused_at_their_place(steps: str, message: str) -> None:
    _, errors = check(STEPS.format(steps=steps))
    assert len(errors) == 1 and message in errors[0], errors
    assert errors[0].startswith("r.yaml:8:")


@pytest.mark.parametrize(
    ("orders", "steps", "where"),
    [
        # a second A1 in `orders:` (the test's import refused it with no place to show)
        ("      - {id: A1, channel: web, lines: [{sku: W, qty: 2}]}\n", "      - tick", "r.yaml:7"),
        # an `orders` step bringing an id the test already has
        ("", "      - orders: [{id: A1, channel: web, lines: [{sku: W, qty: 1}]}]", "r.yaml:8:"),
    ],
)
def test_an_order_id_given_twice_in_a_test_is_refused_at_its_line(
    orders: str, steps: str, where: str
) -> None:
    text = STEPS.format(steps=steps).replace("    steps:\n", orders + "    steps:\n")
    _, errors = check(text)
    assert len(errors) == 1 and errors[0].startswith(where), errors
    assert "order `A1` is given twice in this test (first at line 6)" in errors[0]
    assert "give each order of a test its own id" in errors[0]


def test_expect_is_required_only_without_steps() -> None:
    _, errors = check(STEPS.format(steps="      - tick").replace("    steps:\n      - tick\n", ""))
    assert any("'expect' is a required property" in e for e in errors)


def test_the_new_triggers_parse_and_allocate_on_overallocated_is_refused() -> None:
    released = parse_rule('when stock released from channel "web" then allocate')
    assert (released.trigger.event, released.trigger.channels) == ("stock released", ("web",))
    assert check_rule(released, ORDER_VOCABULARY) == []
    over = parse_rule('when order overallocated then tag "review", allocate by unit')
    [error] = check_rule(over, ORDER_VOCABULARY)
    assert "leaves an overallocated order unchanged" in error.message
    assert error.column == over.actions[1].column and "reallocate" in (error.hint or "")


def test_the_receiver_in_docs_events_md_verifies_dibs_signatures(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    text = (ROOT / "docs" / "events.md").read_text()
    code = re.search(r"```python\n(.*?)```", text, re.DOTALL)
    assert code is not None
    # Not 0.0.0.0:8080, where `dibs serve` listens by default; its last line serves forever.
    assert '\nHTTPServer(("127.0.0.1", 9000), Hook).serve_forever()' in code.group(1)
    source = code.group(1).rsplit("\nHTTPServer(", 1)[0]
    monkeypatch.setenv("DIBS_NOTIFY_WMS_SECRET", "doc-secret")
    namespace: dict[str, Any] = {}
    exec(compile(source, "events.md", "exec"), namespace)
    server = namespace["HTTPServer"](("127.0.0.1", 0), namespace["Hook"])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        body = body_of(Due(1, "wms", 0, NOW, 7, "order.shipped", NOW, "A1", {}))

        def post(sig: str) -> int:
            conn = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=5)
            conn.request("POST", "/", body, {"X-Dibs-Signature": sig})
            status = conn.getresponse().status
            conn.close()
            return status

        assert post(signature(b"doc-secret", body)) == 204
        assert post(signature(b"other", body)) == 401
    finally:
        server.shutdown()
        server.server_close()
