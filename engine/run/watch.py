"""One tick of the loop shared by `dibs run` and `dibs serve --rules`: reload the rule file when
it changes (engine.run.reload), tick, log what it did, and never bring the loop down."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from engine.run.reload import RuleWatcher
from engine.run.runner import Runner, TickResult
from rules.ruleset import RuleSet

log = logging.getLogger("dibs.run")


def ticker(
    runner: Runner,
    watcher: RuleWatcher,
    on_tick: Callable[[TickResult | None], None] | None = None,
    on_reload: Callable[[RuleSet], None] | None = None,
) -> Callable[[], datetime | None]:
    """The function `scheduler.run_loop` calls: reload the rules if changed, run one tick, log
    it; a failed tick is rolled back whole and logged, and the loop goes on. Returns the next
    schedule fire time (for the loop's sleep)."""

    def tick() -> datetime | None:
        fresh = watcher.poll()  # never raises: a bad save is logged, the old rules stay
        if fresh is not None:
            runner.ruleset = fresh
            if on_reload is not None:
                on_reload(fresh)  # e.g. the notify endpoints of `dibs run`'s deliveries
        if watcher.stop.is_set():  # stopped while the new file was being checked
            return None
        try:
            result = runner.tick()
        except Exception as exc:  # a failed tick is rolled back whole; keep serving
            log.error("tick failed and was rolled back: %s", str(exc)[:2000])
            if on_tick is not None:
                on_tick(None)
            return None
        if result.did_something:
            log.info(result.summary(), extra={"tick": result.as_json()})
        if on_tick is not None:
            on_tick(result)
        return runner.next_schedule(runner.clock())

    return tick
