"""Output helpers: tables render what they are given; progress stays silent off a terminal."""

from __future__ import annotations

import io
import json

from engine.cli import output


def test_table_shows_every_row_and_column() -> None:
    buffer = io.StringIO()
    output.print_records(
        "Stock",
        [{"sku": "MUG", "on_hand": 3}, {"sku": "CAP", "on_hand": 0}],
        ["sku", "on_hand"],
        stream=buffer,
    )
    text = buffer.getvalue()
    assert "Stock" in text and "MUG" in text and "CAP" in text and "on_hand" in text


def test_json_is_one_document() -> None:
    buffer = io.StringIO()
    output.print_json({"results": [{"id": "A"}]}, stream=buffer)
    assert json.loads(buffer.getvalue()) == {"results": [{"id": "A"}]}


def test_no_progress_bar_when_disabled_or_not_a_terminal() -> None:
    with output.progress_bar("importing", enabled=False) as progress:
        assert progress is None
    # pytest captures stderr, so it is not a terminal: no bar, nothing written.
    with output.progress_bar("importing", enabled=True) as progress:
        assert progress is None
