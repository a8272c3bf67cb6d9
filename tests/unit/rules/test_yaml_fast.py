"""Rule files read through libyaml (`rules.yaml_read.FastBoundedLoader`): the same nodes,
positions and values as PyYAML's own parser for valid files, and on any error the reference
loader's words and positions (`rules.filecheck.FileCheck.read_yaml`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from rules import filecheck, yaml_read
from rules.loader import check_ruleset_bytes
from rules.yaml_read import BoundedLoader, FastBoundedLoader
from tests.unit.rules.test_hostile_files import CASES, HOSTILE

ROOT = Path(__file__).resolve().parents[3]
#: Valid rule files of every shape the project has: the examples and the docs' own files.
VALID = [ROOT / "examples" / "rules.yaml", ROOT / "examples" / "warehouses" / "rules.yaml"]
TRICKY = (
    "version: 1\n"
    "# a comment, then every scalar style, a flow mapping and a non-ASCII name\n"
    'rules:\n  - name: "quoted \\u00e9 \\t tab"\n    rule: >\n      when new order\n'
    "      then allocate\n  - {name: 'single ''quotes''', enabled: true, priority: 0x1F,\n"
    "     rule: every 5 minutes then allocate}\n"
    "  - name: café\n    rule: |\n      when new order\n      then allocate\n"
    "  - name: off\n    rule: when new order then allocate\n    start: 2026-01-02\n"
)


def _walk(node: yaml.Node) -> list[tuple[Any, ...]]:
    """Every node's kind, tag, scalar value and style, and where it starts and ends."""
    found: list[tuple[Any, ...]] = []
    stack = [node]
    while stack:
        at = stack.pop()
        marks = (at.start_mark.line, at.start_mark.column, at.start_mark.index,
                 at.end_mark.line, at.end_mark.column, at.end_mark.index)  # fmt: skip
        if isinstance(at, yaml.ScalarNode):
            found.append(("scalar", at.tag, at.value, at.style or None, *marks))  # C: ""
        elif isinstance(at, yaml.MappingNode):
            found.append(("mapping", at.tag, at.flow_style, *marks))
            stack.extend(part for pair in reversed(at.value) for part in reversed(pair))
        else:
            found.append(("sequence", at.tag, at.flow_style, *marks))
            stack.extend(reversed(at.value))
    return found


def _read(kind: type[BoundedLoader], text: str) -> tuple[list[tuple[Any, ...]], Any]:
    loader = kind(text)
    try:
        root = loader.get_single_node()
        return _walk(root), loader.construct_document(root)
    finally:
        loader.dispose()


def test_libyaml_is_used_where_pyyaml_has_it() -> None:
    """PyYAML's wheels are built with libyaml; a build without falls back to PyYAML's parser."""
    assert (yaml_read.FAST_LOADER is FastBoundedLoader) is bool(yaml.__with_libyaml__)


@pytest.mark.parametrize(
    "text", [*(p.read_text() for p in VALID), TRICKY], ids=["ex", "wh", "tricky"]
)
def test_both_loaders_give_the_same_nodes_positions_and_values(text: str) -> None:
    assert _read(FastBoundedLoader, text) == _read(BoundedLoader, text)


def test_a_valid_file_is_read_by_libyaml_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[str] = []

    class Spy(BoundedLoader):
        def __init__(self, stream: str) -> None:
            made.append("reference")
            super().__init__(stream)

    monkeypatch.setattr(filecheck, "BoundedLoader", Spy)
    ruleset, found = check_ruleset_bytes(VALID[0].read_bytes(), "rules.yaml")
    assert ruleset is not None and not [d for d in found if d.severity == "error"]
    assert made == []


def _diagnostics(text: str, monkeypatch: pytest.MonkeyPatch, fast: bool) -> list[str]:
    with monkeypatch.context() as patch:
        patch.setattr(filecheck, "FAST_LOADER", FastBoundedLoader if fast else None)
        return [str(d) for d in check_ruleset_bytes(text.encode("utf-8"), "h.yaml")[1]]


@pytest.mark.parametrize("name", ["deep flow", "lone surrogate"])
def test_where_libyaml_words_an_error_its_own_way_the_reference_words_it(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = CASES[name][0]
    with pytest.raises(yaml.YAMLError):
        _read(FastBoundedLoader, text)  # libyaml refuses it, in its own words
    assert _diagnostics(text, monkeypatch, True) == _diagnostics(text, monkeypatch, False)


@pytest.mark.parametrize("path", sorted(HOSTILE.glob("*.yaml")), ids=lambda p: p.name[:2])
def test_every_hostile_file_gets_the_same_diagnostics_either_way(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = path.read_text()
    assert _diagnostics(text, monkeypatch, True) == _diagnostics(text, monkeypatch, False)
