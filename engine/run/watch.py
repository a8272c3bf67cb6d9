"""The tick loop's moving parts shared by `dibs run` and `dibs serve --rules`: re-reading the
rule file when it changes, and one tick that logs what it did and never brings the loop down."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from engine.run.runner import Runner, TickResult
from rules.errors import Diagnostic
from rules.loader import check_ruleset
from rules.ruleset import RuleSet

log = logging.getLogger("dibs.run")


class RuleWatcher:
    """Re-reads the rule file when its bytes change; keeps the running rules if the new is bad."""

    def __init__(self, path: str, ruleset: RuleSet) -> None:
        self.path = path
        self.ruleset = ruleset
        self.digest = self._digest()
        self.rejected: str | None = None

    def _digest(self) -> str | None:
        try:
            return hashlib.sha256(Path(self.path).read_bytes()).hexdigest()
        except OSError:
            return None

    def poll(self) -> RuleSet | None:
        """A newly valid rule set, or None when nothing (usable) changed."""
        digest = self._digest()
        if digest is None:
            if self.rejected != "missing":
                log.warning(
                    "%s cannot be read (moved or deleted?); the running rules (%s) stay in force",
                    self.path,
                    self.ruleset.hash,
                )
                self.rejected = "missing"
            return None
        if digest == self.digest or digest == self.rejected:
            return None
        ruleset, diagnostics = check_ruleset(self.path)
        errors: list[Diagnostic] = [d for d in diagnostics if d.severity == "error"]
        if ruleset is None or errors:
            self.rejected = digest
            log.error(
                "%s changed but is invalid; the running rules (%s) stay in force:\n%s",
                self.path,
                self.ruleset.hash,
                "\n".join(str(d) for d in errors),
            )
            return None
        self.digest, self.rejected, self.ruleset = digest, None, ruleset
        log.info("%s reloaded: ruleset %s, %d rules", self.path, ruleset.hash, len(ruleset.active))
        return ruleset


def ticker(
    runner: Runner,
    watcher: RuleWatcher,
    on_tick: Callable[[TickResult | None], None] | None = None,
) -> Callable[[], datetime | None]:
    """The function `scheduler.run_loop` calls: reload the rules if changed, run one tick, log
    it; a failed tick is rolled back whole and logged, and the loop goes on. Returns the next
    schedule fire time (for the loop's sleep)."""

    def tick() -> datetime | None:
        fresh = watcher.poll()
        if fresh is not None:
            runner.ruleset = fresh
        try:
            result = runner.tick()
        except Exception as exc:  # a failed tick is rolled back whole; keep serving
            log.error("tick failed and was rolled back: %s", exc)
            if on_tick is not None:
                on_tick(None)
            return None
        if result.did_something:
            log.info(result.summary(), extra={"tick": result.as_json()})
        if on_tick is not None:
            on_tick(result)
        return runner.next_schedule(runner.clock())

    return tick
