"""One rule file being checked: its text, its YAML nodes by path, and the diagnostics so far."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from dsl.errors import shorten
from rules.errors import Diagnostic, Severity
from rules.positions import (
    line_column,
    str_path,
)
from rules.yaml_read import (
    MAX_SHOWN,
    BoundedLoader,
    Path_,
    Refused,
)


@dataclass
class FileCheck:
    filename: str
    data: bytes
    text: str = ""
    diagnostics: list[Diagnostic] = field(default_factory=list)
    nodes: dict[Path_, yaml.Node] = field(default_factory=dict)
    truncated: bool = False  # more schema errors exist than were collected
    key_nodes: dict[Path_, yaml.Node] = field(default_factory=dict)

    def error(self, line: int, column: int, message: str, hint: str | None = None) -> None:
        self.add(line, column, "error", message, hint)

    def add(
        self, line: int, column: int, severity: Severity, message: str, hint: str | None = None
    ) -> None:
        self.diagnostics.append(Diagnostic(self.filename, line, column, severity, message, hint))

    def at(self, node: yaml.Node) -> tuple[int, int]:
        return node.start_mark.line + 1, node.start_mark.column + 1

    def sorted_diagnostics(self) -> list[Diagnostic]:
        """The diagnostics in file order, at most MAX_SHOWN errors and MAX_SHOWN warnings."""
        ordered = sorted(self.diagnostics, key=lambda d: (d.line, d.column))
        shown: list[Diagnostic] = []
        for severity in ("error", "warning"):
            found = [d for d in ordered if d.severity == severity]
            shown.extend(found[:MAX_SHOWN])
            if len(found) > MAX_SHOWN:
                rest = found[MAX_SHOWN]
                more = len(found) - MAX_SHOWN
                count = f"{more:,}+" if severity == "error" and self.truncated else f"{more:,}"
                shown.append(
                    Diagnostic(
                        rest.file,
                        rest.line,
                        rest.column,
                        rest.severity,
                        f"{count} more {severity}s from here on are not shown",
                        "fix the ones above first" if severity == "error" else None,
                    )
                )
        return sorted(shown, key=lambda d: (d.line, d.column))

    # YAML
    def read_yaml(self) -> tuple[yaml.Node, Any] | None:
        try:
            loader = BoundedLoader(self.text)
        except yaml.reader.ReaderError as exc:
            line, column = line_column(self.text, exc.position)
            self.error(line, column, f"invalid YAML: character {exc.character!r} is not allowed")
            return None
        except yaml.YAMLError as exc:  # PyYAML checks the whole text for unprintable characters
            self.error(1, 1, f"invalid YAML: {shorten(exc, 200)}")
            return None
        try:
            root = loader.get_single_node()
            if root is None:
                self.error(1, 1, "the file is empty", "a rule file starts with `version: 1`")
                return None
            if not self.check_keys(root):
                return None
            data = loader.construct_document(root)
        except Refused as exc:
            mark = exc.problem_mark
            line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
            self.error(line, column, str(exc.problem), exc.hint)
            return None
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
            problem = shorten(exc.problem or exc.context or "invalid YAML", 200)
            self.error(line, column, f"invalid YAML: {problem}{_context(exc)}", _yaml_hint(exc))
            return None
        except yaml.YAMLError as exc:
            self.error(1, 1, f"invalid YAML: {shorten(exc, 200)}")
            return None
        finally:
            loader.dispose()
        return root, data

    def check_keys(self, node: yaml.Node) -> bool:
        """Refuse duplicate keys; False stops the check (cannot build).

        The loader refuses aliases, so the tree is a tree (no node is reached twice) and at most
        MAX_DEPTH deep: plain recursion is safe.
        """
        ok = True
        if isinstance(node, yaml.MappingNode):
            seen: dict[str, yaml.Node] = {}
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.tag != "tag:yaml.org,2002:merge":
                    if key.value in seen:
                        first = seen[key.value].start_mark.line + 1
                        line, column = self.at(key)
                        self.error(
                            line,
                            column,
                            f"duplicate key `{shorten(key.value)}` (first at line {first})",
                            "each key may appear once in a mapping",
                        )
                    else:
                        seen[key.value] = key
                ok = self.check_keys(key) and ok
                ok = self.check_keys(value) and ok
        elif isinstance(node, yaml.SequenceNode):
            for item in node.value:
                ok = self.check_keys(item) and ok
        return ok

    def index(self, node: yaml.Node, path: Path_) -> None:
        """Remember the node of every path (and the key node of every mapping entry)."""
        self.nodes.setdefault(path, node)
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if not isinstance(key, yaml.ScalarNode):
                    continue
                name = key.value
                self.key_nodes[(*path, name)] = key
                self.nodes[(*path, name)] = value
                self.index(value, (*path, name))
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                self.index(item, (*path, i))

    def node_at(self, path: Path_) -> yaml.Node:
        while path not in self.nodes and path:
            path = path[:-1]
        return self.nodes[path]

    def pos(self, path: Path_) -> tuple[int, int]:
        return self.at(self.node_at(str_path(path)))

    # schema
    # timezone and tests


def _context(exc: yaml.MarkedYAMLError) -> str:
    """Where the construct the parser was reading began, when that is elsewhere: an unclosed
    quote is found at the end of the file, but it was opened at the rule that lacks it."""
    begun, found = exc.context_mark, exc.problem_mark
    if not exc.context or not exc.problem or begun is None or found is None:
        return ""
    if (begun.line, begun.column) == (found.line, found.column):
        return ""
    start = f"line {begun.line + 1}, column {begun.column + 1}"
    return f" ({shorten(exc.context, 80)} that starts at {start})"


def _yaml_hint(exc: yaml.MarkedYAMLError) -> str | None:
    if "quoted scalar" in str(exc.context or ""):
        return "close the quote: a quoted value ends with the same quote it starts with"
    return None
