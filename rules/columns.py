"""Which order fields of the rule vocabulary (`rules.vocabulary`) are stored as columns.

Plain data, apart from the vocabulary: the storage schema reads this table in every command that
opens the database, and the vocabulary's field types (`dsl.types`, with the syntax tree's
classes) cost more to import than a command that reads one order should pay (docs/cli.md,
"Start-up").
"""

from __future__ import annotations

#: The fields stored as a plain column of the `orders` table, and that column's name. This is the
#: one table the SQL filter, `--order-by` and the storage schema read (engine.store.schema builds
#: its field-to-column map from it; a test checks that every column exists, and that with
#: `COMPUTED_FIELDS` these are the fields of `rules.vocabulary.ORDER_FIELDS`). The other fields
#: are computed from the order: `age` from `placed_at`, `tags` and `skus` from their own tables.
ORDER_COLUMNS: dict[str, str] = {
    "id": "id",
    "channel": "channel",
    "status": "status",
    "allocation_status": "allocation_status",
    "placed_at": "placed_at",
    "shipping_method": "shipping_method",
    "total": "total",
    "ship_to.name": "ship_to_name",
    "ship_to.country": "ship_to_country",
    "ship_to.state": "ship_to_state",
    "ship_to.city": "ship_to_city",
    "ship_to.postal_code": "ship_to_postal_code",
    "warehouse": "warehouse",
    "line_count": "line_count",
    "unit_count": "unit_count",
}

#: Fields with no column of their own (see ORDER_COLUMNS).
COMPUTED_FIELDS = frozenset({"age", "tags", "skus"})
