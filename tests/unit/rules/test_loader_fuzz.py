"""Whatever bytes a user feeds the loader, the outcome is a RuleSet or diagnostics."""

from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rules.errors import Diagnostic, RuleFileError
from rules.loader import check_ruleset_bytes, load_ruleset
from rules.ruleset import RuleSet

WORDS = [
    "when", "new", "order", "if", "then", "allocate", "stop", "tag", '"x"', "total", ">", "==",
    "5", "days", "channel", "in", "[", "]", ",", "and", "or", "not", "(", ")", "every", "cron",
    '"0 0 31 2 *"', "daily", "at", "09:30", "order by", "desc", "matches", '"("', "ship_to.country",
    "attributes.x", "contains", "by unit", "all or nothing", "'", "=", "\n",
]  # fmt: skip


def assert_outcome(data: bytes) -> None:
    ruleset, diagnostics = check_ruleset_bytes(data, "fuzz.yaml")
    # "internal error" is the loader's last-resort net for a bug: fuzzing must never reach it.
    assert not any("internal error" in d.message for d in diagnostics), data[:300]
    assert ruleset is None or isinstance(ruleset, RuleSet)
    assert all(isinstance(d, Diagnostic) for d in diagnostics)
    if ruleset is None:
        assert any(d.severity == "error" for d in diagnostics)
    for d in diagnostics:
        assert d.line >= 1 and d.column >= 1
        assert str(d).startswith("fuzz.yaml:")
        str(d).encode("utf-8")  # printable: no lone surrogates in messages


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_random_bytes(data: bytes) -> None:
    assert_outcome(data)


rule_text = st.lists(st.sampled_from(WORDS), max_size=14).map(" ".join)
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=10), rule_text)
rule_item = st.fixed_dictionaries(
    {"name": st.sampled_from(["a", "b", "Bad", "c-1"]), "rule": rule_text},
    optional={
        "priority": st.one_of(st.integers(-5, 5), st.text(max_size=3)),
        "enabled": st.booleans(),
        "extra": scalars,
    },
)
documents = st.fixed_dictionaries(
    {"version": st.sampled_from([1, 1, 2, "1"]), "rules": st.lists(rule_item, max_size=4)},
    optional={
        "timezone": st.sampled_from(["UTC", "Europe/Berlin", "Mars/Base", "", "../etc"]),
        "tests": st.lists(st.dictionaries(st.text(max_size=5), scalars, max_size=3), max_size=2),
    },
)


@settings(max_examples=300, deadline=None)
@given(documents, st.sampled_from([None, False, True]))
def test_random_rule_files(document: dict[str, Any], flow: bool | None) -> None:
    text = yaml.safe_dump(document, default_flow_style=flow, allow_unicode=True)
    assert_outcome(text.encode())


@settings(max_examples=200, deadline=None)
@given(rule_text, st.sampled_from(["", "|", ">", '"', "'"]))
def test_random_rule_strings_in_every_style(text: str, style: str) -> None:
    if style in ("|", ">"):
        body = f"rule: {style}\n      " + text.replace("\n", "\n      ")
    elif style:
        body = "rule: " + yaml.safe_dump(text, default_style=style).strip().removesuffix("...")
    else:
        body = "rule: " + yaml.safe_dump(text).strip().removesuffix("...").strip()
    doc = f"version: 1\nrules:\n  - name: a\n    {body}\n"
    assert_outcome(doc.encode())


# ---- mutation fuzzing of real and hostile rule files ----------------------------------------

HOSTILE = Path(__file__).with_name("hostile")
GOOD = b"""\
version: 1
timezone: Europe/Berlin
rules:
  - name: express-first
    priority: 100
    description: Overnight and two-day orders first
    rule: when new order if shipping_method in ["overnight", "two_day"] then allocate
  - name: vip
    rule: |
      when new order if tags contains "vip" and not (total < 10.5 or age > 3 days)
      then tag "v", allocate by unit order by total desc
  - {name: nightly, rule: 'cron "0 2 * * 1" then reallocate'}
  - {name: re, rule: 'when order updated if id matches "^A[0-9]+$" then stop'}
tests:
  - name: t
    inventory: {WIDGET: 1}
    orders:
      - {id: A1, channel: web, placed_at: "2026-01-01T09:00:00Z", lines: [{sku: WIDGET, qty: 1}]}
    expect: {A1: allocated}
"""
# Pieces that broke the loader before: aliases, nesting, huge numbers, surrogates, bad dates.
SPLICES = [
    b"*a", b"&a ", b"<<: *a\n", b"[" * 40, b"{" * 40, b"]", b"9" * 4400, b"0x" + b"f" * 50,
    b"1e999", b".nan", b'"\\ud800"', b"'0001-01-01T00:00:00+01:00'", b" or total > 1" * 30,
    b"not " * 40, b"(" * 40, b" 99999999999999999999 days", b"!!int ", b"!!bool ", b"!!set ",
    b"? [a]\n: b\n", b"\t", b"\x00", b"\r", b"\xef\xbb\xbf", b"\xff", b"- ", b": ", b"#", b"\n  ",
    b'matches "(a)\\\\1"', b'matches "(a+)+$"', b"|\n", b">\n", b"---\n", b"...\n", b"%YAML 1.1\n",
    b"x" * 2000,
]  # fmt: skip


def _seeds() -> list[bytes]:
    seeds = [GOOD]
    for path in sorted(HOSTILE.glob("*.yaml")):
        seeds.append(path.read_bytes()[:3000])  # the 2,000-rule file: its head is enough
    return seeds


def _mutate(rnd: random.Random, data: bytes) -> bytes:
    out = bytearray(data)
    for _ in range(rnd.randint(1, 4)):
        at = rnd.randint(0, len(out))
        kind = rnd.randrange(5)
        if kind == 0 and out:  # flip a byte
            out[min(at, len(out) - 1)] = rnd.randrange(256)
        elif kind == 1:  # delete a slice
            del out[at : at + rnd.randint(1, 40)]
        elif kind == 2:  # duplicate a slice
            out[at:at] = out[at : at + rnd.randint(1, 200)] * rnd.randint(1, 5)
        else:  # splice in something hostile
            out[at:at] = rnd.choice(SPLICES)
    return bytes(out)


def test_mutated_rule_files_only_ever_give_diagnostics(tmp_path: Path) -> None:
    """Seeded (reproducible) and bounded: a fixed number of mutants, stopping early at 15 s."""
    rnd = random.Random(20260101)
    seeds = _seeds()
    path = tmp_path / "mutant.yaml"
    deadline = time.monotonic() + 15
    checked = 0
    for _ in range(300):
        if time.monotonic() > deadline:
            break
        data = _mutate(rnd, rnd.choice(seeds))
        start = time.perf_counter()
        assert_outcome(data)
        assert time.perf_counter() - start < 5, data[:200]
        path.write_bytes(data)
        try:
            load_ruleset(path)  # the runner's contract: a RuleSet or RuleFileError, nothing else
        except RuleFileError as exc:
            assert exc.diagnostics
        checked += 1
    assert checked >= 100
