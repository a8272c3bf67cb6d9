"""Reloading the rule file of a running `dibs run`: bounded, and never fatal.

A save over the running file is checked first in a child process with a time limit and an
address-space limit (`CHECK_SECONDS`, `CHECK_MEMORY`), reading the exact bytes the parent read.
Only bytes the child accepted are then loaded in the scheduler's own process, and even that load
is guarded: whatever a new file does (an error of any kind, a hang, a memory blow-up, a crash
of the checker), it is logged and the running rules stay in force. While the child works, the
scheduler's stop signal is watched, so SIGTERM during a slow check stops `dibs run` at once.
"""

from __future__ import annotations

import hashlib
import logging
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from engine.errors import plural
from rules.errors import Diagnostic, RuleFileError
from rules.loader import check_ruleset_bytes
from rules.ruleset import RuleSet

log = logging.getLogger("dibs.run")

#: How long the checker of a new rule file may take, and how much memory it may map.
CHECK_SECONDS = 30.0
CHECK_MEMORY = 2 * 1024**3

_CHECKER = r"""
import sys
from rules.loader import check_ruleset_bytes
data = sys.stdin.buffer.read()
ruleset, diagnostics = check_ruleset_bytes(data, sys.argv[1])
errors = [d for d in diagnostics if d.severity == "error"]
for d in errors:
    print(str(d))
sys.exit(0 if ruleset is not None and not errors else 2)
"""


def _limit_child() -> None:  # pragma: no cover - runs in the child between fork and exec
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (CHECK_MEMORY, CHECK_MEMORY))
    except (ImportError, ValueError, OSError):
        pass


def check_in_child(
    data: bytes, filename: str, stop: threading.Event, seconds: float | None = None
) -> tuple[bool, str]:
    """(accepted, what the checker reported) for rule-file bytes, checked in a bounded child
    (`seconds`, default `CHECK_SECONDS`).

    Returns early (not accepted) when `stop` is set: the scheduler is shutting down.
    """
    seconds = CHECK_SECONDS if seconds is None else seconds
    proc = subprocess.Popen(
        [sys.executable, "-c", _CHECKER, filename],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": _import_root()},
        preexec_fn=_limit_child if os.name == "posix" else None,
    )
    outcome: list[tuple[bytes, bytes]] = []
    reader = threading.Thread(target=lambda: outcome.append(proc.communicate(data)), daemon=True)
    reader.start()
    deadline = time.monotonic() + seconds
    while reader.is_alive():
        if stop.is_set() or time.monotonic() > deadline:
            proc.kill()
            reader.join(5)
            if stop.is_set():
                return False, "not checked: dibs run is stopping"
            return False, f"checking it took longer than {seconds:g} s and was given up"
        reader.join(0.05)
    out, err = outcome[0] if outcome else (b"", b"")
    report = out.decode("utf-8", "replace").strip()
    if proc.returncode == 0:
        return True, report
    if proc.returncode == 2:
        return False, report
    tail = err.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no output"]
    if proc.returncode is not None and proc.returncode < 0:
        return False, f"the checker was killed by signal {-proc.returncode} ({tail[0][:300]})"
    return False, f"the checker failed (exit {proc.returncode}): {tail[0][:300]}"


def _import_root() -> str:
    """PYTHONPATH for the checker: where this process imports `rules` from, then the rest."""
    import rules

    root = str(Path(rules.__file__).resolve().parents[1])
    rest = os.environ.get("PYTHONPATH")
    return os.pathsep.join([root, rest] if rest else [root])


class RuleWatcher:
    """Re-reads the rule file when its bytes change; keeps the running rules if the new is bad."""

    def __init__(self, path: str, ruleset: RuleSet, stop: threading.Event) -> None:
        self.path = path
        self.ruleset = ruleset
        self.stop = stop
        self.digest = self._digest(self._read())
        self.rejected: str | None = None

    def _read(self) -> bytes | None:
        try:
            return Path(self.path).read_bytes()
        except (OSError, ValueError):
            return None

    @staticmethod
    def _digest(data: bytes | None) -> str | None:
        return None if data is None else hashlib.sha256(data).hexdigest()

    def poll(self) -> RuleSet | None:
        """A newly valid rule set, or None when nothing (usable) changed. Never raises."""
        try:
            return self._poll()
        except Exception as exc:  # a reload must never stop the scheduler
            log.error(
                "%s: reloading failed (%s: %s); the running rules (%s) stay in force",
                self.path,
                type(exc).__name__,
                str(exc)[:500],
                self.ruleset.hash,
            )
            return None

    def _poll(self) -> RuleSet | None:
        data = self._read()
        digest = self._digest(data)
        if data is None or digest is None:
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
        accepted, report = check_in_child(data, self.path, self.stop)
        if not accepted:
            self._refuse(digest, report)
            return None
        try:
            ruleset, diagnostics = check_ruleset_bytes(data, self.path)
        except RuleFileError as exc:
            self._refuse(digest, "\n".join(str(d) for d in exc.diagnostics))
            return None
        errors: list[Diagnostic] = [d for d in diagnostics if d.severity == "error"]
        if ruleset is None or errors:
            self._refuse(digest, "\n".join(str(d) for d in errors))
            return None
        self.digest, self.rejected, self.ruleset = digest, None, ruleset
        rules = plural(len(ruleset.active), "rule")  # "1 rules" was logged
        log.info("%s reloaded: ruleset %s, %s", self.path, ruleset.hash, rules)
        for warning in diagnostics:  # as at start: a warning is told, not taken in silence
            log.warning("%s", warning)
        return ruleset

    def _refuse(self, digest: str, report: str) -> None:
        if self.stop.is_set():
            return  # shutting down: the file is looked at again on the next start
        self.rejected = digest
        log.error(
            "%s changed but is invalid; the running rules (%s) stay in force:\n%s",
            self.path,
            self.ruleset.hash,
            report[:20000],
        )
