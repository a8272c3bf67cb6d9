"""Three `dibs run` workers on one PostgreSQL database: every event and every schedule slot is
handled exactly once (events claimed with SKIP LOCKED, slots by the unique (rule, slot) key).

The workers share a test clock (DIBS_CLOCK_FILE) that the test moves one minute at a time, so
the `every 1 minute` rule has a known list of slots to run.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine.model import Line, Order
from engine.service import Service
from engine.store import Store, events, inventory, ledger, order_lines, order_tags, rule_runs

DIBS = str(Path(sys.executable).parent / "dibs")
ROOT = Path(__file__).resolve().parents[2]
START = datetime(2026, 4, 1, 8, 0, 30, tzinfo=UTC)
MINUTES = 5

pytestmark = pytest.mark.slow


def set_clock(path: Path, moment: datetime) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(moment.isoformat())
    os.replace(tmp, path)  # workers never read a half-written time


def slots(store: Store) -> list[datetime]:
    with store.read() as conn:
        found = (
            conn.execute(
                select(rule_runs.c.slot)
                .where(rule_runs.c.rule == "sweep")
                .order_by(rule_runs.c.slot)
            )
            .scalars()
            .all()
        )
    return [s.astimezone(UTC) for s in found]


def wait_for(check: object, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.parametrize("store", ["postgres"], indirect=True)
def test_three_workers_handle_each_event_and_each_slot_once(
    store: Store, pg_url: str, tmp_path: Path
) -> None:
    clock_file = tmp_path / "clock"
    set_clock(clock_file, START)
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "version: 1\nrules:\n"
        "  - name: everyone\n    rule: when new order then allocate\n"
        '  - name: sweep\n    rule: every 1 minute then tag "seen"\n'
    )
    svc = Service(store, lambda: datetime.fromisoformat(clock_file.read_text()))
    svc.import_inventory([(f"SKU-{i}", "main", 10_000) for i in range(12)])

    env = {k: v for k, v in os.environ.items() if k != "DIBS_DB"}
    env["PYTHONPATH"] = str(ROOT)  # this checkout's code, not the editable install's
    env["DIBS_CLOCK_FILE"] = str(clock_file)
    logs = [tmp_path / f"worker-{i}.log" for i in range(3)]
    workers = []
    for log in logs:
        with log.open("w") as sink:
            workers.append(
                subprocess.Popen(
                    [DIBS, "--db", pg_url, "run", str(rules), "--tick", "0.2"],
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=sink,
                )
            )
    try:
        expected_slots = [START.replace(second=0)]
        wait_for(lambda: slots(store) == expected_slots, "the first slot")
        made = 0
        for minute in range(1, MINUTES + 1):
            for _ in range(4):  # 1000 orders over the run, 50 at a time
                batch = [
                    Order(
                        id=f"O{n:04d}",
                        channel="web",
                        placed_at=START + timedelta(seconds=n),
                        lines=(
                            Line(f"SKU-{n % 12}", 1 + n % 3),
                            Line(f"SKU-{(n * 7 + 1) % 12}", 1),
                        ),
                    )
                    for n in range(made, made + 50)
                ]
                svc.add_orders(batch)
                made += 50
                time.sleep(0.1)
            set_clock(clock_file, START + timedelta(minutes=minute))
            expected_slots.append(expected_slots[0] + timedelta(minutes=minute))
            wait_for(lambda: slots(store)[-1:] == expected_slots[-1:], f"slot {expected_slots[-1]}")
        rest = [
            Order(
                id=f"O{n:04d}",
                channel="web",
                placed_at=START + timedelta(seconds=n),
                lines=(Line(f"SKU-{n % 12}", 1),),
            )
            for n in range(made, 1000)
        ]
        svc.add_orders(rest)
        wait_for(lambda: _pending(store) == 0, "every event to be processed")
        time.sleep(0.5)  # a few more ticks: nothing may run twice now
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
        codes = [w.wait(20) for w in workers]
    texts = [log.read_text() for log in logs]
    assert codes == [0, 0, 0], texts
    assert all("Traceback" not in t for t in texts)
    assert sum("tick [" in t for t in texts) >= 2  # the work was shared

    # Every schedule slot ran once, in consecutive minutes.
    assert slots(store) == [
        START.replace(second=0) + timedelta(minutes=m) for m in range(MINUTES + 1)
    ]
    with store.read() as conn:
        per_slot = Counter(conn.execute(select(rule_runs.c.rule, rule_runs.c.slot)).all())
        assert set(per_slot.values()) == {1}

        created = conn.execute(
            select(events.c.order_id, events.c.processed).where(events.c.type == "order.created")
        ).all()
        assert len(created) == 1000 == len({oid for oid, _ in created})
        assert all(processed for _, processed in created)

        # Every order handled exactly once: one allocate row per line, each line fully held.
        rows = conn.execute(
            select(ledger.c.order_id, ledger.c.line_no, ledger.c.delta, ledger.c.operation)
        ).all()
        assert {r.operation for r in rows} == {"allocate"}
        per_line = Counter((r.order_id, r.line_no) for r in rows)
        lines = conn.execute(select(order_lines)).all()
        assert set(per_line) == {(x.order_id, x.line_no) for x in lines}
        assert set(per_line.values()) == {1}
        assert all(x.reserved == x.qty for x in lines)
        demand: Counter[str] = Counter()
        for x in lines:
            demand[x.sku] += x.qty
        stock = {r.sku: r.allocated for r in conn.execute(select(inventory))}
        assert {sku: stock[sku] for sku in demand} == dict(demand)
        # The sweep tagged what was open when it ran; nobody tagged twice (primary key).
        tagged = conn.execute(select(func.count()).select_from(order_tags)).scalar_one()
        assert 0 < tagged <= 1000


def _pending(store: Store) -> int:
    with store.read() as conn:
        return int(
            conn.execute(
                select(func.count()).select_from(events).where(events.c.processed.is_(False))
            ).scalar_one()
        )
