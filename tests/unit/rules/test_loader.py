from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from rules.errors import Diagnostic, RuleFileError
from rules.loader import check_ruleset, load_ruleset, ruleset_hash

GOOD = """\
version: 1
timezone: Europe/Berlin
rules:
  - name: express-first
    priority: 100
    description: Overnight and two-day orders get stock before anything else
    rule: when new order if shipping_method in ["overnight", "two_day"] then allocate
  - name: everything-else
    rule: every 5 minutes then allocate
  - name: off
    enabled: false
    priority: 500
    rule: daily at 02:00 then deallocate
tests:
  - name: express beats an older ground order
    inventory: {WIDGET: 1}
    orders:
      - {id: A1, channel: shopify, placed_at: "2026-01-01T09:00:00Z",
         lines: [{sku: WIDGET, qty: 1}]}
      - {id: A2, channel: shopify, placed_at: 2026-01-01T10:00:00Z, shipping_method: overnight,
         lines: [{sku: WIDGET, qty: 1}]}
    expect: {A2: allocated, A1: unallocated}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def diags(tmp_path: Path, text: str) -> list[Diagnostic]:
    path = write(tmp_path, text)
    ruleset, found = check_ruleset(path)
    errors = [d for d in found if d.severity == "error"]
    assert (ruleset is None) == bool(errors)
    return errors


def positions(found: list[Diagnostic]) -> list[str]:
    return [f"{Path(d.file).name}:{d.line}:{d.column}" for d in found]


def test_good_file_loads(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    ruleset = load_ruleset(path)
    assert [r.name for r in ruleset.rules] == ["off", "express-first", "everything-else"]
    assert [r.name for r in ruleset.active] == ["express-first", "everything-else"]
    assert ruleset.timezone_name == "Europe/Berlin"
    assert ruleset.hash == ruleset_hash(path.read_bytes()) and len(ruleset.hash) == 12
    test = ruleset.tests[0]
    assert test.inventory == {"WIDGET": 1}
    assert test.orders[1]["placed_at"] == "2026-01-01T10:00:00Z"  # kept as written
    assert test.expect == {"A2": "allocated", "A1": "unallocated"}
    express = ruleset.get("express-first")
    assert (express.line, express.column) == (7, 11)
    assert ruleset.rules_for_event("order.created") == (express,)
    assert ruleset.scheduled_rules() == (ruleset.get("everything-else"),)


def test_yaml_syntax_error(tmp_path: Path) -> None:
    (d,) = diags(tmp_path, "version: 1\nrules: [\n  - name: x\n")
    assert d.message.startswith("invalid YAML")
    assert positions([d]) == ["rules.yaml:3:3"]


def test_an_unclosed_quote_names_the_line_where_it_opens(tmp_path: Path) -> None:
    """PyYAML finds it at the end of the file; the mistake is where the quote opens."""
    text = 'version: 1\nrules:\n  - name: a\n    rule: "when new order then allocate\n'
    (d,) = diags(tmp_path, text + "  - name: b\n    rule: when new order then stop\n")
    assert d.message == (
        "invalid YAML: found unexpected end of stream "
        "(while scanning a quoted scalar that starts at line 4, column 11)"
    )
    assert d.hint == "close the quote: a quoted value ends with the same quote it starts with"


def test_duplicate_yaml_key(tmp_path: Path) -> None:
    found = diags(
        tmp_path,
        """\
        version: 1
        rules:
          - name: a
            rule: when new order then allocate
            rule: when new order then stop
        """,
    )
    assert positions(found) == ["rules.yaml:5:5"]
    assert found[0].message == "duplicate key `rule` (first at line 4)"


def test_schema_errors_are_positioned(tmp_path: Path) -> None:
    found = diags(
        tmp_path,
        """\
        version: 2
        rules:
          - name: Bad Name
            priority: high
            colour: red
            rule: when new order then allocate
          - rule: every 1 hour then allocate
        extra: 1
        """,
    )
    assert positions(found) == [
        "rules.yaml:1:10",
        "rules.yaml:3:11",
        "rules.yaml:4:15",
        "rules.yaml:5:5",
        "rules.yaml:7:5",
        "rules.yaml:8:1",
    ]
    assert "version 1" in found[0].message
    assert found[3].message == "unknown key `colour` in rules[0]"
    assert "'name' is a required property" in found[4].message


def test_schema_slips_get_a_hint_and_words_not_python_s(tmp_path: Path) -> None:
    """A quoted number, YAML 1.1's `yes`, a near-miss of an allowed word and a key left empty:
    each says what to write, and nothing shows Python's `None`."""
    found = diags(
        tmp_path,
        """\
        version: 1
        rules:
          - name: a
            priority: "5"
            enabled: yes
            rule:
        tests:
          - name: t
            inventory: {W: "3"}
            orders: [{id: A1, channel: web, lines: [{sku: W, qty: 1}]}]
            expect: {A1: alocated}
        """,
    )
    assert [(d.line, d.message, d.hint) for d in found] == [
        (4, "rules[0].priority: '5' is not of type 'integer'", "write the number without quotes"),
        (
            5,
            "rules[0].enabled: 'yes' is not of type 'boolean'",
            "write true or false (in YAML 1.2, yes, no, on and off are text)",
        ),
        (6, "rules[0].rule: no value given; expected text", None),
        (
            9,
            "tests[0].inventory.W: '3' is not of type 'integer'",
            "write the number without quotes",
        ),
        (11, found[4].message, "did you mean `allocated`?"),
    ]
    assert found[4].message.startswith("tests[0].expect.A1: 'alocated' is not one of")


def test_rule_syntax_error_in_plain_scalar(tmp_path: Path) -> None:
    (d,) = diags(
        tmp_path,
        """\
        version: 1
        rules:
          - name: a
            rule: when new order if channel = "x" then allocate
        """,
    )
    assert positions([d]) == ["rules.yaml:4:37"]
    assert d.hint == "use == to compare"
    assert str(d).startswith(f"{d.file}:4:37: error: unexpected `=`")


def test_rule_errors_in_literal_block(tmp_path: Path) -> None:
    found = diags(
        tmp_path,
        """\
        version: 1
        rules:
          - name: a
            rule: |
              when new order
              if contry == "US"
                and total > "abc"
              then allocate
        """,
    )
    assert positions(found) == ["rules.yaml:6:10", "rules.yaml:7:21"]
    assert found[0].message == "unknown field `contry`"
    assert found[0].hint == "did you mean `ship_to.country`?"


def test_rule_errors_in_quoted_and_folded_scalars(tmp_path: Path) -> None:
    found = diags(
        tmp_path,
        """\
        version: 1
        rules:
          - name: a
            rule: "when new order if age > 5 then allocate"
          - name: b
            rule: 'when new order if tags == "x" then allocate'
          - name: c
            rule: >
              when new order
              if channel matches "(" then allocate
        """,
    )
    assert positions(found) == ["rules.yaml:4:36", "rules.yaml:6:38", "rules.yaml:10:26"]
    assert found[0].hint == "add a unit, e.g. `age > 5 days`"
    assert found[2].message.startswith("invalid regular expression")


def test_a_nul_escaped_into_a_rule_is_an_error_where_it_stands(tmp_path: Path) -> None:
    """`"\\0"` in a double-quoted scalar puts a NUL into the rule: `rules check` said ok, and
    on PostgreSQL, which stores no NUL, every tick of the file failed on it."""
    found = diags(
        tmp_path,
        r"""
        version: 1
        rules:
          - name: a
            rule: "when new order if id == \"x\0\" then allocate"
          - name: b
            rule: "every 5 minutes then tag \"gift\0\""
        """,
    )
    assert positions(found) == ["rules.yaml:5:39", "rules.yaml:7:43"]
    assert found[0].message == "the rule contains a NUL character, which no value can hold"


def test_duplicate_rule_name(tmp_path: Path) -> None:
    found = diags(
        tmp_path,
        """\
        version: 1
        rules:
          - name: a
            rule: when new order then allocate
          - name: a
            rule: when order updated then allocate
        """,
    )
    assert positions(found) == ["rules.yaml:5:11"]
    assert found[0].message == "duplicate rule name `a` (first at line 3)"


def test_a_rule_name_longer_than_the_ledger_holds_is_an_error_at_the_name(
    tmp_path: Path,
) -> None:
    """A 250-character name passed `rules check`; the ledger and `rule_runs` columns hold 200,
    so on PostgreSQL `dibs run` failed with 'value too long for type character varying(200)'."""
    text = "version: 1\nrules:\n  - name: {}\n    rule: every 5 minutes then allocate\n"
    assert not diags(tmp_path, text.format("a" * 200))
    found = diags(tmp_path, text.format("b" * 201))
    assert positions(found) == ["rules.yaml:3:11"]
    assert "201 characters long; at most 200" in found[0].message
    assert found[0].message.startswith("rule name `bbb")


def test_bad_timezone(tmp_path: Path) -> None:
    (d,) = diags(tmp_path, "version: 1\ntimezone: Europe/Berln\nrules: []\n")
    assert positions([d]) == ["rules.yaml:2:11"]
    assert d.hint == "did you mean `Europe/Berlin`?"


def test_bad_cron(tmp_path: Path) -> None:
    found = diags(
        tmp_path,
        """\
        version: 1
        rules:
          - name: a
            rule: cron "0 25 * * *" then allocate
          - name: b
            rule: cron "* * *" then allocate
        """,
    )
    assert positions(found) == ["rules.yaml:4:16", "rules.yaml:6:16"]
    assert "hour: 25 is out of range 0-23" in found[0].message


def test_all_problems_reported_in_one_run(tmp_path: Path) -> None:
    found = diags(
        tmp_path,
        """\
        version: 1
        timezone: Nowhere/Land
        rules:
          - name: a
            rule: when new order if nope == 1 then allocate
          - name: a
            rule: cron "61 * * * *" then allocate
          - name: c
            rule: when new order then allocat
        """,
    )
    assert len(found) == 5


def test_unknown_test_order_in_expect(tmp_path: Path) -> None:
    (d,) = diags(
        tmp_path,
        """\
        version: 1
        rules: []
        tests:
          - name: t
            orders: [{id: A1, lines: [{sku: W, qty: 1}]}]
            expect: {A2: allocated}
        """,
    )
    assert positions([d]) == ["rules.yaml:6:14"]


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("", "rules.yaml:1:1"),
        ("- 1\n- 2\n", "rules.yaml:1:1"),
        ("a: 1\n---\nb: 2\n", "rules.yaml:2:1"),
    ],
)
def test_degenerate_documents(tmp_path: Path, text: str, where: str) -> None:
    found = diags(tmp_path, text)
    assert found and positions(found)[0] == where


def test_load_ruleset_raises_with_every_diagnostic(tmp_path: Path) -> None:
    path = write(tmp_path, "version: 1\nrules:\n  - {name: a, rule: when}\n  - {name: b}\n")
    with pytest.raises(RuleFileError) as info:
        load_ruleset(path)
    assert len(info.value.diagnostics) == 2
    assert str(info.value).count("rules.yaml:") == 2


def test_unreadable_file(tmp_path: Path) -> None:
    ruleset, found = check_ruleset(tmp_path / "missing.yaml")
    assert ruleset is None and found[0].line == 1


@pytest.mark.parametrize(
    ("data", "where"),
    [
        (b"version: 1\nrules:\n  - name: caf\xe9\n", "rules.yaml:3:14"),
        # A byte-order mark is not counted: positions are the file's, as an editor shows them.
        (b"\xef\xbb\xbfversion: 1\xff\n", "rules.yaml:1:11"),
        (b"# caf\xc3\xa9 \xe9\r\nversion: 1\r\n", "rules.yaml:1:8"),
    ],
)
def test_not_utf8_is_reported_at_the_bad_byte(tmp_path: Path, data: bytes, where: str) -> None:
    """A Latin-1 byte anywhere was reported at 1:1 (with a byte offset off by a BOM's three)."""
    path = tmp_path / "rules.yaml"
    path.write_bytes(data)
    found = check_ruleset(path)[1]
    assert positions(found) == [where]
    assert found[0].message.startswith("the file is not UTF-8 text (")
