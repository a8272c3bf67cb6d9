"""What a newcomer tripped over on a second end-to-end pass (2026-12-01), through the `dibs`
command: each test is what a person types and what they read back (see tests/e2e/conftest.py
for how `dibs` runs)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from tests.e2e.conftest import Dibs
from tests.helpers import run_dibs


def test_text_in_brackets_is_shown_as_written_never_read_as_markup(
    dibs: Dibs, tmp_path: Path
) -> None:
    """Ids, tags and names are the merchant's text: `[/x]` is a tag, not a closing style tag
    (it crashed `orders show` with a traceback), and `[red]M-2` is an id (it was shown as M-2)."""
    orders = [
        {
            "id": "M-1",
            "channel": "web",
            "tags": ["[/x]"],
            "ship_to": {"name": "Bob [bold]Smith"},
            "lines": [{"sku": "MUG", "qty": 1}],
        },
        {"id": "[red]M-2", "channel": "web", "lines": [{"sku": "MUG", "qty": 1}]},
    ]
    path = tmp_path / "m.jsonl"
    path.write_text("".join(json.dumps(o) + "\n" for o in orders))
    dibs("orders", "import", str(path))
    shown = dibs("orders", "show", "M-1").stdout
    assert "[/x]" in shown and "Bob [bold]Smith" in shown
    assert "[red]M-2" in dibs("orders", "show", "[red]M-2").stdout
    listed = dibs("orders", "list").stdout
    assert "[red]M-2" in listed


def test_demo_shows_the_ruleset_hash_of_every_tick(tmp_path: Path) -> None:
    """The warehouses step's hash (ded0e9f8f3c9) starts with a letter: Rich read `[ded0…]` as
    a style and printed `tick : 11 events`."""
    result = run_dibs(["demo"], tmp_path)
    assert result.returncode == 0, result.stderr
    try:
        ticks = re.findall(r"^tick (\S*)", result.stdout, re.MULTILINE)
        assert len(ticks) == 2, result.stdout
        assert all(re.fullmatch(r"\[[0-9a-f]{12}\]:", t) for t in ticks), ticks
    finally:
        kept = re.search(r"The demo database is kept in (\S+)", result.stdout)
        assert kept is not None
        shutil.rmtree(Path(kept[1]).parent)
