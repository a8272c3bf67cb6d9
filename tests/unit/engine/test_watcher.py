"""`dibs run` re-reads its rule file: new valid rules at the next tick, bad or missing files
leave the running rules in force and are reported once."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from engine.run.watch import RuleWatcher
from rules.loader import load_ruleset

GOOD = "version: 1\nrules:\n  - name: a\n    rule: when new order then allocate\n"


def test_changes_bad_edits_and_a_deleted_file(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(GOOD)
    watcher = RuleWatcher(str(path), load_ruleset(path))
    first = watcher.ruleset.hash
    assert watcher.poll() is None  # unchanged

    path.write_text(GOOD.replace("name: a", "name: b"))
    fresh = watcher.poll()
    assert fresh is not None and fresh.hash != first and fresh.get("b")

    caplog.set_level(logging.INFO, logger="dibs.run")
    path.write_text("version: 1\nrules:\n  - name: c\n    rule: when new order then alocate\n")
    assert watcher.poll() is None
    assert watcher.poll() is None
    assert sum("invalid" in r.getMessage() for r in caplog.records) == 1
    assert watcher.ruleset.get("b")  # still in force

    path.unlink()
    assert watcher.poll() is None
    assert watcher.poll() is None
    assert sum("cannot be read" in r.getMessage() for r in caplog.records) == 1
