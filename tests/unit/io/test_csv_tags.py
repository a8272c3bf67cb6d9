"""Tags in a native CSV orders file: a cell holds several, separated by commas (as Shopify's
export and most spreadsheets write a list), semicolons or bars, each trimmed. A quoted
`"rush,vip"` was read as the one tag `rush,vip`, which no rule's `tags contains "rush"` matched."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from engine.errors import BadInput
from engine.io.imports import read_orders

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
HEADER = "id,channel,placed_at,sku,qty,tags\n"


def _tags(tmp_path: Path, *rows: str) -> list[frozenset[str]]:
    path = tmp_path / "orders.csv"
    path.write_text(HEADER + "".join(f"{row}\n" for row in rows), encoding="utf-8")
    return [order.tags for order in read_orders(path, now=NOW)]


@pytest.mark.parametrize(
    "cell",
    ['"rush,vip"', '" rush , vip "', "rush;vip", "rush | vip", '"rush, vip;"', '"rush,,vip"'],
)
def test_a_tags_cell_holds_several_tags_separated_by_commas_semicolons_or_bars(
    tmp_path: Path, cell: str
) -> None:
    assert _tags(tmp_path, f"A1,web,2026-11-28T10:00:00Z,MUG,1,{cell}") == [
        frozenset({"rush", "vip"})
    ]


def test_a_cell_of_separators_only_is_no_tag(tmp_path: Path) -> None:
    assert _tags(tmp_path, 'A1,web,2026-11-28T10:00:00Z,MUG,1," , ;"') == [frozenset()]


def test_each_tag_of_a_cell_is_held_to_the_tag_limit(tmp_path: Path) -> None:
    with pytest.raises(BadInput) as refused:
        _tags(tmp_path, f'A1,web,2026-11-28T10:00:00Z,MUG,1,"vip,{"x" * 101}"')
    assert "orders.csv:2" in str(refused.value) and "tags" in str(refused.value)
