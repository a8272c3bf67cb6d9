"""`dibs run` re-reads its rule file: new valid rules at the next tick, bad or missing files
leave the running rules in force and are reported once."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import pytest

from engine.run import reload
from engine.run.reload import RuleWatcher, check_in_child
from rules.errors import Diagnostic, RuleFileError
from rules.loader import load_ruleset

GOOD = "version: 1\nrules:\n  - name: a\n    rule: when new order then allocate\n"


def test_changes_bad_edits_and_a_deleted_file(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(GOOD)
    watcher = RuleWatcher(str(path), load_ruleset(path), threading.Event())
    first = watcher.ruleset.hash
    assert watcher.poll() is None  # unchanged

    caplog.set_level(logging.INFO, logger="dibs.run")
    path.write_text(GOOD.replace("name: a", "name: b"))
    fresh = watcher.poll()
    assert fresh is not None and fresh.hash != first and fresh.get("b")
    reloaded = [r.getMessage() for r in caplog.records if "reloaded" in r.getMessage()]
    assert reloaded == [f"{path} reloaded: ruleset {fresh.hash}, 1 rule"]  # was "1 rules"

    path.write_text("version: 1\nrules:\n  - name: c\n    rule: when new order then alocate\n")
    assert watcher.poll() is None
    assert watcher.poll() is None
    assert sum("invalid" in r.getMessage() for r in caplog.records) == 1
    assert watcher.ruleset.get("b")  # still in force

    path.unlink()
    assert watcher.poll() is None
    assert watcher.poll() is None
    assert sum("cannot be read" in r.getMessage() for r in caplog.records) == 1


def _watching(tmp_path: Path) -> tuple[Path, RuleWatcher]:
    path = tmp_path / "rules.yaml"
    path.write_text(GOOD)
    return path, RuleWatcher(str(path), load_ruleset(path), threading.Event())


@pytest.mark.parametrize(
    "error",
    [
        TypeError("unhashable type: 'dict'"),
        RecursionError("maximum recursion depth exceeded"),
        MemoryError(),
        RuleFileError([Diagnostic("rules.yaml", 3, 7, "error", "an alias expands too far")]),
    ],
)
def test_a_save_that_makes_the_loader_raise_anything_keeps_the_rules(
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    error: BaseException,
) -> None:
    """Whatever the loader raises for the new bytes (a bug, RuleFileError after the loader's
    own fixes), the scheduler logs it and the running rules stay."""
    path, watcher = _watching(tmp_path)
    monkeypatch.setattr(reload, "check_in_child", lambda data, name, stop: (True, ""))

    def broken(data: bytes, filename: str) -> None:
        raise error

    monkeypatch.setattr(reload, "check_ruleset_bytes", broken)
    caplog.set_level(logging.INFO, logger="dibs.run")
    path.write_text(GOOD.replace("name: a", "name: z"))
    assert watcher.poll() is None
    assert watcher.ruleset.get("a")
    assert any("stay in force" in r.getMessage() for r in caplog.records)


def test_a_checker_that_crashes_or_is_refused_keeps_the_rules(tmp_path: Path) -> None:
    path, watcher = _watching(tmp_path)
    path.write_text("version: 1\nrules:\n  - name: c\n    rule: when new order then alocate\n")
    accepted, report = check_in_child(path.read_bytes(), str(path), threading.Event())
    assert not accepted and "rules.yaml:4:" in report
    assert watcher.poll() is None and watcher.ruleset.get("a")


def _alias_bomb() -> str:
    levels = ['l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for n in range(1, 10):
        levels.append(f"l{n}: &l{n} [" + ",".join([f"*l{n - 1}"] * 9) + "]")
    return "version: 1\n" + "\n".join(levels) + "\nrules: []\n"


HOSTILE = {
    # 499 bytes whose aliases expand to 9**10 strings: froze dibs run (issue #9, item 3)
    "alias-bomb": _alias_bomb(),
    # a test order id that is a mapping: a TypeError inside the loader killed dibs run
    "typeerror": (
        "version: 1\nrules:\n  - {name: a, rule: when new order then allocate}\ntests:\n"
        "  - name: t\n    orders: [{id: {x: 1}, lines: [{sku: X, qty: 1}]}]\n    expect: {}\n"
    ),
    "deep-nesting": "version: 1\nrules: " + "[" * 1000 + "]" * 1000 + "\n",
    "not-utf8": "version: 1\nrules: []\n# \udcff\n",
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_saves_never_replace_the_running_rules(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    """Reproducers of issue #9 saved over a running file: refused within the checker's time
    bound, the running rules kept, and poll() returns normally."""
    monkeypatch.setattr(reload, "CHECK_SECONDS", 8.0)
    path, watcher = _watching(tmp_path)
    path.write_bytes(HOSTILE[name].encode("utf-8", "surrogateescape"))
    started = time.monotonic()
    assert watcher.poll() is None
    assert time.monotonic() - started < 20
    assert watcher.ruleset.get("a")


def test_a_stop_during_a_slow_check_returns_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """SIGTERM sets the stop event: a check in progress is abandoned and the child killed."""
    monkeypatch.setattr(reload, "_CHECKER", "import time; time.sleep(60)")
    stop = threading.Event()
    timer = threading.Timer(0.5, stop.set)
    timer.start()
    started = time.monotonic()
    accepted, report = check_in_child(b"version: 1\nrules: []\n", "rules.yaml", stop)
    timer.join()
    assert time.monotonic() - started < 5
    assert not accepted and "stopping" in report


def test_a_check_over_its_time_bound_is_given_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reload, "_CHECKER", "import time; time.sleep(60)")
    started = time.monotonic()
    accepted, report = check_in_child(
        b"version: 1\nrules: []\n", "rules.yaml", threading.Event(), seconds=1.0
    )
    assert time.monotonic() - started < 5
    assert not accepted and "longer than 1 s" in report


def test_a_reloaded_file_s_warnings_are_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A valid new file with warnings (a condition that never matches) was taken in silence:
    the warnings `dibs run` prints at start were never told for a file saved while it ran."""
    path, watcher = _watching(tmp_path)
    caplog.set_level(logging.INFO, logger="dibs.run")
    path.write_text(GOOD.replace("when new order then", "when new order if channel in [] then"))
    assert watcher.poll() is not None
    warned = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert [r.getMessage().split(": warning: ")[0] for r in warned] == [f"{path}:4:11"]
    assert "never matches" in warned[0].getMessage()
