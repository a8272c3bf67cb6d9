"""Rule files (SPEC §6): YAML with positions -> schema -> rule language -> RuleSet.

Every problem of a file is collected into one list of :class:`Diagnostic`, each at the
``file:line:column`` a user has to edit:

* YAML is read with PyYAML's safe loader, as a node tree that keeps marks; duplicate keys are
  refused (PyYAML silently keeps the last one); timestamps stay strings so the schema sees what
  the user wrote.
* JSON Schema errors are placed on the offending node (on the offending key for unknown keys).
* Rule-string errors are translated from the rule text into the file. Plain scalars on one line,
  literal blocks (``|``) and quoted scalars without escapes map exactly; for folded blocks
  (``>``), multi-line plain scalars and quoted scalars with escapes the mapping aligns the
  value's characters with the source and is exact except right at folded line breaks and escape
  sequences (best effort: the error then points at the nearest source character).

Hostile input. A rule file is user input that ``dibs run`` reloads while it runs, so checking any
file takes bounded time and memory, and every problem is a :class:`Diagnostic` (``load_ruleset``
raises :class:`RuleFileError` and nothing else; ``check_ruleset`` never raises). The bounds:

* **Aliases are refused.** ``*name`` anywhere in a rule file is an error at the alias: a 500-byte
  file of nested aliases expands to billions of values (the "billion laughs"), and a rule file has
  nothing worth sharing that cannot be written out. Anchors alone (``&name``) are harmless and
  allowed.
* :data:`MAX_FILE_BYTES` (1 MiB; real rule files are a few KB) bounds the scanning time of
  PyYAML (pure Python: ~1.5 s for 1 MiB), :data:`MAX_NODES` (60,000 values; PyYAML composes
  ~25,000 a second) and :data:`MAX_RULES` (5,000, the size ``rules check`` is benchmarked to
  check in under 5 s: tests/bench/bench_rules_check.py) the work after it; at most
  :data:`MAX_SCHEMA_ERRORS` schema errors are collected. :data:`MAX_DEPTH` (32 levels of
  nesting; rule files use 6) keeps every walk over the tree, PyYAML's own included, far from
  Python's recursion limit.
* Integers have at most :data:`MAX_INT_CHARS` characters (Python refuses to convert more than
  4,300 digits, and nothing in a rule file needs more than 18); ``.inf``/``.nan`` and floats too
  large to be finite are refused; the schema bounds priorities and quantities.
* Strings may not contain lone surrogates (``"\\ud800"``): they cannot be encoded as UTF-8, so
  they could be neither printed nor stored.
* Date-times must have a UTC equivalent (``0001-01-01T00:00:00+01:00`` has none).
* Rule texts obey :mod:`dsl.limits`; regexes are checked with RE2 (:mod:`dsl.regex`).
* Messages quote user values cut to 60 characters (:func:`dsl.errors.shorten`); at most
  :data:`MAX_SHOWN` errors and as many warnings are listed, then a count of the rest.
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

from dsl.errors import shorten
from rules import sections
from rules.errors import Diagnostic, RuleFileError
from rules.filecheck import FileCheck
from rules.lint import lint
from rules.notify import check_notify
from rules.ruleset import RuleSet, order_rules
from rules.yaml_read import MAX_FILE_BYTES, MAX_SHOWN

__all__ = [
    "MAX_FILE_BYTES",
    "MAX_SHOWN",
    "check_ruleset",
    "check_ruleset_bytes",
    "load_ruleset",
    "ruleset_hash",
]


# ---- public API -----------------------------------------------------------------------------


def load_ruleset(path: str | Path) -> RuleSet:
    """Load, validate and compile a rule file; raises :class:`RuleFileError` on any error.

    Warnings (lint) do not fail the load; they are on ``RuleSet.warnings``.
    """
    ruleset, diagnostics = check_ruleset(path)
    if ruleset is None:
        raise RuleFileError(diagnostics)
    return ruleset


def check_ruleset(path: str | Path) -> tuple[RuleSet | None, list[Diagnostic]]:
    """Every diagnostic of a file (errors and warnings) and the RuleSet when there is no error."""
    name = str(path)
    try:
        # Only regular files: opening a FIFO blocks until a writer comes, and a device may
        # never end. Checked before opening, and again on what was opened.
        if not stat.S_ISREG(Path(path).stat().st_mode):
            return None, [Diagnostic(name, 1, 1, "error", "not a regular file")]
        with open(path, "rb") as file:
            if not stat.S_ISREG(os.fstat(file.fileno()).st_mode):
                return None, [Diagnostic(name, 1, 1, "error", "not a regular file")]
            data = file.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        return None, [Diagnostic(name, 1, 1, "error", f"cannot read the file: {reason}")]
    return check_ruleset_bytes(data, name)


def check_ruleset_bytes(data: bytes, filename: str) -> tuple[RuleSet | None, list[Diagnostic]]:
    """Like :func:`check_ruleset` for content already in memory (``filename`` labels it).

    Never raises: a failure of the check itself (a bug) is reported as an error diagnostic, so
    a running scheduler that reloads a file keeps its rules whatever the file holds.
    """
    check = FileCheck(filename, data)
    try:
        return _run(check)
    except (RecursionError, MemoryError) as exc:
        message = f"the file is too complex to check ({type(exc).__name__})"
    except Exception as exc:  # a bug; the runner must still never crash on a rule file
        message = f"internal error while checking the file ({type(exc).__name__}: {exc})"
    return None, [Diagnostic(filename, 1, 1, "error", shorten(message, 200))]


def ruleset_hash(data: bytes) -> str:
    """The short content hash of a rule file (12 hex digits of its sha256)."""
    return hashlib.sha256(data).hexdigest()[:12]


def _not_utf8(check: FileCheck) -> None:
    """The error at the first byte that is not UTF-8 (not at 1:1: a name pasted into a comment
    deep in the file is then findable). Decoded again without `-sig`, whose error positions
    start after a byte-order mark."""
    try:
        check.data.decode("utf-8")
        return
    except UnicodeDecodeError as exc:
        at, reason = exc.start, exc.reason
    start = check.data.rfind(b"\n", 0, at) + 1
    column = len(check.data[start:at].decode("utf-8-sig")) + 1
    bad = check.data[at : at + 1].hex()
    check.error(
        check.data.count(b"\n", 0, at) + 1,
        column,
        f"the file is not UTF-8 text ({reason}, byte 0x{bad})",
        "save the file as UTF-8",
    )


def _run(check: FileCheck) -> tuple[RuleSet | None, list[Diagnostic]]:
    if len(check.data) > MAX_FILE_BYTES:
        check.error(
            1,
            1,
            f"the file is larger than {MAX_FILE_BYTES // 1024:,} KB",
            "a rule file holds rules and their tests; keep order data elsewhere",
        )
        return None, check.diagnostics
    try:
        # One line-break convention, so YAML marks and our offsets agree.
        check.text = check.data.decode("utf-8-sig").replace("\r\n", "\n").replace("\r", "\n")
    except UnicodeDecodeError:
        _not_utf8(check)
        return None, check.diagnostics
    document = check.read_yaml()
    if document is None:
        return None, check.diagnostics
    root, data = document
    check.index(root, ())
    sections.check_schema(check, data)
    rules = sections.check_rules(check, data)
    timezone = sections.check_timezone(check, data)
    tests = sections.check_tests(check, data)
    notify = check_notify(check, data)
    if any(d.severity == "error" for d in check.diagnostics) or timezone is None:
        return None, check.sorted_diagnostics()
    ordered = order_rules(rules)
    for rule, message, hint in lint(ordered):
        check.add(rule.line, rule.column, "warning", message, hint)
    ruleset = RuleSet(
        path=check.filename,
        hash=ruleset_hash(check.data),
        full_hash=hashlib.sha256(check.data).hexdigest(),
        timezone_name=timezone.key,
        timezone=timezone,
        rules=ordered,
        tests=tuple(tests),
        warnings=tuple(check.sorted_diagnostics()),
        notify=tuple(notify),
    )
    return ruleset, check.sorted_diagnostics()
