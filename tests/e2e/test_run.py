"""`dibs run` and `dibs rules test` as a user runs them: exit codes, logs, signals, reloads."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import DIBS, Dibs, dibs_env

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


def write_rules(path: Path, tag: str) -> None:
    path.write_text(
        f'version: 1\nrules:\n  - name: mark\n    rule: when new order then tag "{tag}", allocate\n'
    )


class Running:
    """A `dibs run` in the background; its stderr (the log) goes to a file we can read."""

    def __init__(self, dibs: Dibs, *args: str, env: dict[str, str] | None = None) -> None:
        self.log_path = dibs.cwd / f"run-{time.monotonic_ns()}.log"
        self._log = self.log_path.open("w")
        env = dibs_env(**(env or {}))
        self.proc = subprocess.Popen(
            [DIBS, "--db", dibs.db, "run", *args],
            cwd=dibs.cwd,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=self._log,
        )

    @property
    def log(self) -> str:
        return self.log_path.read_text()

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(20)
        self._log.close()
        return code


@pytest.fixture
def running(dibs: Dibs) -> Iterator[Callable[..., Running]]:
    started: list[Running] = []

    def start(*args: str, env: dict[str, str] | None = None) -> Running:
        run = Running(dibs, *args, env=env)
        started.append(run)
        return run

    yield start
    for run in started:
        if run.proc.poll() is None:
            run.proc.kill()
            run.proc.wait(10)


def wait_for(check: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def tags_of(dibs: Dibs, oid: str) -> list[str]:
    return sorted(dibs.json("orders", "show", oid)["tags"])


# ------------------------------------------------------------------------------------ --once


def test_run_once_on_the_examples(dibs: Dibs) -> None:
    dibs("inventory", "import", str(EXAMPLES / "inventory.csv"))
    dibs("orders", "import", str(EXAMPLES / "orders.csv"))
    result = dibs("run", str(EXAMPLES / "rules.yaml"), "--once")
    assert "tick [" in result.stderr
    listed = dibs.json("orders", "list")
    assert listed
    assert {o["allocation_status"] for o in listed} != {"unallocated"}
    # Everything pending was consumed. The tick told its status changes (allocation.changed);
    # the second tick consumes them and changes nothing; a third finds nothing at all.
    changed = len(dibs.json("events", "list", "--type", "allocation.changed", "--limit", "0"))
    again = dibs("run", str(EXAMPLES / "rules.yaml"), "--once", "--log-format", "json")
    (line,) = again.stderr.splitlines()
    tick = json.loads(line)["tick"]
    assert (tick["events"], tick["allocation"], tick["reserved_units"]) == (changed, {}, 0)
    third = dibs("run", str(EXAMPLES / "rules.yaml"), "--once", "--log-format", "json")
    (line,) = third.stderr.splitlines()
    assert json.loads(line)["tick"]["events"] == 0


def test_an_invalid_rule_file_is_refused_with_its_position(dibs: Dibs, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "version: 1\nrules:\n"
        "  - name: oops\n"
        '    rule: when new order if shiping_method == "x" then allocate\n'
    )
    result = dibs("run", str(bad), "--once", expect=2)
    assert re.search(r"bad\.yaml:4:\d+", result.stderr), result.stderr
    assert "shipping_method" in result.stderr  # the "did you mean" hint
    dibs("run", str(tmp_path / "missing.yaml"), "--once", expect=2)
    dibs("rules", "check", str(bad), expect=2)


def test_json_log_lines_parse_and_describe_the_tick(dibs: Dibs, tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    write_rules(rules, "v1")
    dibs("inventory", "set", "MUG", "1")
    dibs("orders", "add", "A1", "--channel", "web", "--line", "MUG:1")
    result = dibs("run", str(rules), "--once", "--log-format", "json")
    docs = [json.loads(line) for line in result.stderr.splitlines() if line.strip()]
    assert docs
    tick = docs[-1]["tick"]
    assert tick["events"] == 2
    assert tick["matches"] == {"mark": 1}
    assert tick["allocation"] == {"allocated": 1}
    assert len(tick["ruleset"]) >= 8
    assert dibs.json("orders", "show", "A1")["allocation_status"] == "allocated"


# ----------------------------------------------------------------------------- long running


def test_sigterm_stops_after_the_current_tick_with_exit_0(
    dibs: Dibs, tmp_path: Path, running: Callable[..., Running]
) -> None:
    rules = tmp_path / "rules.yaml"
    write_rules(rules, "v1")
    run = running(str(rules), "--tick", "0.1")
    wait_for(lambda: "dibs run:" in run.log, "the start-up line")
    dibs("orders", "add", "A1", "--channel", "web", "--line", "MUG:1")
    wait_for(lambda: tags_of(dibs, "A1") == ["v1"], "the order to be tagged")
    assert run.stop() == 0
    assert "stopped" in run.log
    assert "Traceback" not in run.log


def test_sigint_stops_too(dibs: Dibs, tmp_path: Path, running: Callable[..., Running]) -> None:
    rules = tmp_path / "rules.yaml"
    write_rules(rules, "v1")
    run = running(str(rules), "--tick", "0.1")
    wait_for(lambda: "dibs run:" in run.log, "the start-up line")
    run.proc.send_signal(signal.SIGINT)
    # Wait for it: `stop()` would send SIGTERM to a process still exiting, and once Python is
    # finalising, its signal handlers are gone (seen as -15 on a loaded machine).
    assert run.proc.wait(20) == 0
    assert run.stop() == 0


def test_a_changed_rule_file_takes_effect_and_an_invalid_one_is_refused(
    dibs: Dibs, tmp_path: Path, running: Callable[..., Running]
) -> None:
    rules = tmp_path / "rules.yaml"
    write_rules(rules, "v1")
    dibs("inventory", "set", "MUG", "10")
    run = running(str(rules), "--tick", "0.1", "--log-format", "json")
    wait_for(lambda: "dibs run:" in run.log, "the start-up line")
    dibs("orders", "add", "A1", "--channel", "web", "--line", "MUG:1")
    wait_for(lambda: tags_of(dibs, "A1") == ["v1"], "A1 tagged by the first rules")
    first_hash = dibs.json("history", "A1")[0]["ruleset"]

    write_rules(rules, "v2")
    wait_for(lambda: "reloaded" in run.log, "the reload")
    dibs("orders", "add", "A2", "--channel", "web", "--line", "MUG:1")
    wait_for(lambda: tags_of(dibs, "A2") == ["v2"], "A2 tagged by the new rules")
    second_hash = dibs.json("history", "A2")[0]["ruleset"]
    assert second_hash != first_hash
    assert second_hash in run.log

    rules.write_text("version: 1\nrules:\n  - name: mark\n    rule: when new order then tagg\n")
    # write_text truncates first: a poll in between sees an empty file (refused too); wait for
    # the refusal of the whole file, with its position.
    positioned = lambda: re.search(r"rules\.yaml:4:\d+", run.log) is not None  # noqa: E731
    wait_for(positioned, "the invalid file to be reported with its position")
    assert "invalid" in run.log
    dibs("orders", "add", "A3", "--channel", "web", "--line", "MUG:1")
    wait_for(lambda: tags_of(dibs, "A3") == ["v2"], "A3 tagged by the rules still in force")
    assert dibs.json("history", "A3")[0]["ruleset"] == second_hash
    assert run.stop() == 0
    for line in run.log.splitlines():
        json.loads(line)  # every log line is JSON, the reload messages too


# ---------------------------------------------------------------------------- rules test


def test_rules_test_passes_on_the_examples(dibs: Dibs) -> None:
    result = dibs("rules", "test", str(EXAMPLES / "rules.yaml"))
    assert "0 failed" in result.stdout


def test_a_failing_rule_test_exits_1_and_names_the_test(dibs: Dibs, tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "version: 1\nrules:\n"
        "  - name: everyone\n    rule: when new order then allocate\n"
        "tests:\n"
        "  - name: stock goes to the oldest order\n"
        "    inventory: {MUG: 1}\n"
        "    orders:\n"
        '      - {id: A1, channel: web, placed_at: "2026-01-01T09:00:00Z",'
        " lines: [{sku: MUG, qty: 1}]}\n"
        "    expect: {A1: allocated}\n"
        "  - name: a wrong expectation\n"
        "    inventory: {MUG: 0}\n"
        "    orders:\n"
        "      - {id: B1, channel: web, lines: [{sku: MUG, qty: 1}]}\n"
        "    expect: {B1: allocated}\n"
    )
    result = dibs("rules", "test", str(rules), expect=1)
    assert "PASS  stock goes to the oldest order" in result.stdout
    assert "FAIL  a wrong expectation" in result.stdout
    assert "B1: expected allocated, got could_not_allocate" in result.stdout
    assert "1 passed, 1 failed" in result.stdout


def test_bad_saves_never_stop_the_scheduler_and_sigterm_always_does(
    dibs: Dibs, tmp_path: Path, running: Callable[..., Running]
) -> None:
    """Issue #9: a save that crashed the loader killed `dibs run`; an alias bomb froze it and
    SIGTERM was ignored. Now both are logged, the old rules stay, and SIGTERM stops it."""
    rules = tmp_path / "rules.yaml"
    write_rules(rules, "v1")
    dibs("inventory", "set", "MUG", "10")
    run = running(str(rules), "--tick", "0.1")
    wait_for(lambda: "dibs run:" in run.log, "the start-up line")
    rules.write_text(
        "version: 1\nrules:\n  - {name: a, rule: when new order then allocate}\ntests:\n"
        "  - name: t\n    orders: [{id: {x: 1}, lines: [{sku: X, qty: 1}]}]\n    expect: {}\n"
    )
    wait_for(lambda: "stay in force" in run.log, "the bad save to be reported")
    dibs("orders", "add", "A1", "--channel", "web", "--line", "MUG:1")
    wait_for(lambda: tags_of(dibs, "A1") == ["v1"], "A1 tagged by the rules still in force")
    levels = ['l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    levels += [f"l{n}: &l{n} [" + ",".join([f"*l{n - 1}"] * 9) + "]" for n in range(1, 10)]
    rules.write_text("version: 1\n" + "\n".join(levels) + "\nrules: []\n")
    time.sleep(1.0)  # the check of the alias bomb is under way (or already refused)
    assert run.proc.poll() is None
    started = time.monotonic()
    assert run.stop() == 0
    assert time.monotonic() - started < 10
    assert "Traceback" not in run.log


def test_json_logs_carry_the_rule_file_s_warnings_as_json_lines(dibs: Dibs, tmp_path: Path) -> None:
    """With --log-format json the rule file's warnings were printed as plain text between the
    JSON lines, so a log shipper reading one object per line choked on them."""
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "version: 1\nrules:\n  - name: a\n    rule: when new order if channel in [] then allocate\n"
    )
    result = dibs("run", str(rules), "--once", "--log-format", "json")
    docs = [json.loads(line) for line in result.stderr.splitlines() if line.strip()]
    warnings = [d for d in docs if d["level"] == "warning"]
    assert len(warnings) == 1
    assert f"{rules}:4:" in warnings[0]["message"] and "never matches" in warnings[0]["message"]
    assert "tick" in docs[-1]
    text = dibs("run", str(rules), "--once")  # as text, the warning is still said
    assert "never matches" in text.stderr


def test_rules_test_json_of_a_file_without_tests_is_an_empty_list(
    dibs: Dibs, tmp_path: Path
) -> None:
    """`rules test FILE --json` on a file without tests printed nothing on stdout, not the one
    JSON document `--json` promises (a script's json.loads failed)."""
    rules = tmp_path / "rules.yaml"
    rules.write_text("version: 1\nrules:\n  - name: a\n    rule: when new order then allocate\n")
    result = dibs("rules", "test", str(rules), "--json")
    assert json.loads(result.stdout) == []
    assert "no tests to run" in result.stderr
    text = dibs("rules", "test", str(rules))
    assert text.stdout == "" and "no tests to run" in text.stderr
