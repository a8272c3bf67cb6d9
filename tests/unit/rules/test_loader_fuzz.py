"""Whatever bytes a user feeds the loader, the outcome is a RuleSet or diagnostics."""

from __future__ import annotations

from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rules.errors import Diagnostic
from rules.loader import check_ruleset_bytes
from rules.ruleset import RuleSet

WORDS = [
    "when", "new", "order", "if", "then", "allocate", "stop", "tag", '"x"', "total", ">", "==",
    "5", "days", "channel", "in", "[", "]", ",", "and", "or", "not", "(", ")", "every", "cron",
    '"0 0 31 2 *"', "daily", "at", "09:30", "order by", "desc", "matches", '"("', "ship_to.country",
    "attributes.x", "contains", "by unit", "all or nothing", "'", "=", "\n",
]  # fmt: skip


def assert_outcome(data: bytes) -> None:
    ruleset, diagnostics = check_ruleset_bytes(data, "fuzz.yaml")
    assert ruleset is None or isinstance(ruleset, RuleSet)
    assert all(isinstance(d, Diagnostic) for d in diagnostics)
    if ruleset is None:
        assert any(d.severity == "error" for d in diagnostics)
    for d in diagnostics:
        assert d.line >= 1 and d.column >= 1
        assert str(d).startswith("fuzz.yaml:")


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
