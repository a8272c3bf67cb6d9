"""One table of order fields, one enum of policies, one of event types: the copies agree."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import get_args

import pytest

from dsl.syntax import Policy as RulePolicy
from engine.errors import BadInput
from engine.model import EventType, Policy
from engine.store import FIELD_COLUMNS, orders
from engine.store.ordering import parse_order_by
from engine.store.where import where_clause
from rules.columns import COMPUTED_FIELDS, ORDER_COLUMNS
from rules.ruleset import _EVENT_RULES as EVENT_TRIGGERS
from rules.vocabulary import ORDER_FIELDS

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def test_every_field_is_a_column_or_computed() -> None:
    assert set(ORDER_COLUMNS) | COMPUTED_FIELDS == set(ORDER_FIELDS)
    assert not set(ORDER_COLUMNS) & COMPUTED_FIELDS


def test_the_schema_has_every_column_the_field_table_names() -> None:
    assert set(FIELD_COLUMNS) == set(ORDER_COLUMNS)
    for field, column in ORDER_COLUMNS.items():
        assert column in orders.c, field
        assert FIELD_COLUMNS[field] is orders.c[column]


@pytest.mark.parametrize("field", [*sorted(ORDER_COLUMNS), "age"])
def test_order_by_and_where_accept_the_same_fields(field: str) -> None:
    assert parse_order_by(f"{field} desc") == [(field, True)]
    spec = ORDER_FIELDS[field]
    literal = {
        "string": '"x"',
        "number": "1",
        "integer": "1",
        "datetime": '"2026-01-01"',
        "duration": "3 days",
    }[spec.type.value]
    where_clause(f"{field} == {literal}" if field != "age" else f"age > {literal}", NOW)


def test_ship_to_name_is_a_field_everywhere() -> None:
    """The drift that started this: --order-by took it, --where refused it."""
    assert "ship_to.name" in ORDER_FIELDS
    where_clause('ship_to.name == "Ann"', NOW)


def test_order_by_refuses_a_field_the_table_lacks() -> None:
    with pytest.raises(BadInput, match="unknown field"):
        parse_order_by("ship_to.street")


@pytest.mark.parametrize(
    "field", sorted(f for f, x in ORDER_FIELDS.items() if x.type.value == "set of strings")
)
def test_order_by_a_set_says_it_is_a_set_as_a_rule_s_order_by_does(field: str) -> None:
    """`--order-by tags` said "unknown field 'tags' (did you mean 'status'?)"."""
    with pytest.raises(BadInput) as info:
        parse_order_by(f"total desc, {field}")
    assert str(info.value).startswith(
        f"--order-by: cannot order by '{field}': it is a set of strings"
    ), str(info.value)


def test_policies_agree_between_rule_language_and_model() -> None:
    assert set(get_args(RulePolicy)) == {p.value for p in Policy}


def test_rule_triggers_name_real_event_types() -> None:
    assert set(EVENT_TRIGGERS) <= {e.value for e in EventType}


def test_the_rule_file_schema_knows_every_event_type() -> None:
    """`notify: events:` accepts exactly the outbox's event types."""
    import json
    from pathlib import Path

    schema = json.loads((Path(__file__).resolve().parents[2] / "rules" / "schema.json").read_text())
    assert schema["$defs"]["event"]["enum"] == [e.value for e in EventType]


def test_a_rule_s_tag_is_bounded_like_an_order_s_tag() -> None:
    from dsl.limits import MAX_TAG_LENGTH
    from engine.model import Length
    from engine.store import order_tags

    assert MAX_TAG_LENGTH == Length.TAG == order_tags.c.tag.type.length


def test_a_rule_name_is_bounded_like_the_columns_that_store_it() -> None:
    import json
    from pathlib import Path

    from engine.model import Length
    from engine.store import ledger, rule_runs

    schema = json.loads((Path(__file__).parents[2] / "rules" / "schema.json").read_text())
    name = schema["$defs"]["rule"]["properties"]["name"]
    assert name["maxLength"] == Length.RULE_NAME == ledger.c.rule.type.length
    assert rule_runs.c.rule.type.length == Length.RULE_NAME
