"""The docs keep up with the code: rule fields, links, and the commands of the CLI.

No database: these read markdown files and the argparse parser. When a field, a command or an
option is added, the matching test fails until docs/ says what it is.
"""

from __future__ import annotations

import argparse
import re
import unicodedata
from pathlib import Path

import pytest

from rules.vocabulary import ORDER_FIELDS, ORDER_VOCABULARY

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"


def markdown_files() -> list[Path]:
    """Every markdown file users read: the README, the changelog and docs/."""
    files = [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]
    changelog = ROOT / "CHANGELOG.md"
    if changelog.is_file():
        files.append(changelog)
    return files


def _strip_code(text: str) -> str:
    """Text without fenced code blocks and inline code, where `[x](y)` is not a link."""
    text = re.sub(r"^(```|~~~).*?^\1[^\n]*$", "", text, flags=re.DOTALL | re.MULTILINE)
    return re.sub(r"`[^`\n]*`", "", text)


_INLINE_LINK = re.compile(r"""!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+(?:"[^"]*"|'[^']*'))?\s*\)""")
_REFERENCE_LINK = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$", re.MULTILINE)


def links(path: Path) -> list[str]:
    text = _strip_code(path.read_text(encoding="utf-8"))
    return _INLINE_LINK.findall(text) + _REFERENCE_LINK.findall(text)


def _is_external(target: str) -> bool:
    return bool(re.match(r"^[a-z][a-z0-9+.-]*:", target, flags=re.IGNORECASE))


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lowercase, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]|<[^>]+>", "", heading).strip().lower()
    text = unicodedata.normalize("NFKC", text)
    text = "".join(c for c in text if c.isalnum() or c in " -_")
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    found: set[str] = set()
    for match in re.finditer(r"^#{1,6}\s+(.+?)\s*#*\s*$", _strip_fences(path), re.MULTILINE):
        base = slug(match.group(1))
        n = seen.get(base, 0)
        seen[base] = n + 1
        found.add(base if n == 0 else f"{base}-{n}")
    return found


def _strip_fences(path: Path) -> str:
    text = path.read_text(encoding="utf-8")
    return re.sub(r"^(```|~~~).*?^\1[^\n]*$", "", text, flags=re.DOTALL | re.MULTILINE)


# ------------------------------------------------------------------------------- rule fields


def field_table() -> dict[str, dict[str, str]]:
    """The rows of the field table in docs/rule-language.md, by field name."""
    text = (DOCS / "rule-language.md").read_text(encoding="utf-8")
    section = text.split("\n## Fields", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")]
    header = [cell.strip().lower() for cell in rows[0].strip("|").split("|")]
    assert header[:3] == ["field", "type", "nullable"], header
    assert set(rows[1].replace("|", "").strip()) <= set("-: "), "second row must be |---|"
    table: dict[str, dict[str, str]] = {}
    for row in rows[2:]:
        cells = [cell.strip() for cell in row.strip().strip("|").split("|")]
        name = cells[0].strip("`")
        assert name not in table, f"{name} is listed twice"
        table[name] = dict(zip(header, cells, strict=True))
    return table


def test_field_table_lists_every_vocabulary_field_with_its_type() -> None:
    table = field_table()
    for name, spec in ORDER_FIELDS.items():
        assert name in table, f"docs/rule-language.md: field `{name}` is missing from the table"
        assert table[name]["type"] == spec.type.value, (
            f"`{name}` is a {spec.type.value} in rules/vocabulary.py, "
            f"the table says {table[name]['type']}"
        )
        assert table[name]["nullable"] == ("yes" if spec.nullable else "no"), name
        assert table[name]["description"], f"`{name}` has no description"


def test_field_table_lists_no_field_the_vocabulary_lacks() -> None:
    table = field_table()
    extra = sorted(set(table) - set(ORDER_VOCABULARY.names()))
    assert not extra, f"docs/rule-language.md lists fields rules cannot use: {extra}"
    # The open-ended prefix row is checked against what the vocabulary builds for any key.
    for prefix in ORDER_VOCABULARY.prefixes:
        row = table[f"{prefix}<key>"]
        spec = ORDER_VOCABULARY.lookup(f"{prefix}example")
        assert spec is not None
        assert row["type"] == spec.type.value
        assert row["nullable"] == ("yes" if spec.nullable else "no")


def test_every_field_of_the_table_is_accepted_by_a_condition() -> None:
    """The table lists `ship_to.name`, and a sentence below it said "`ship_to.name` is not a
    rule field" while rules and `--where` accepted it."""
    section = (DOCS / "rule-language.md").read_text(encoding="utf-8").split("\n## Fields")[1]
    section = section.split("\n## ", 1)[0]
    assert "is not a rule field" not in section
    for name in field_table():
        assert ORDER_VOCABULARY.lookup(name.replace("<key>", "example")) is not None, name


def test_the_regex_dialect_the_docs_give_is_the_one_conditions_use() -> None:
    """docs/rule-language.md called `matches` "the Python regular expression (`re.search`)";
    conditions compile RE2, which refuses a backreference that Python's `re` takes."""
    from rules.loader import check_ruleset_bytes

    text = (DOCS / "rule-language.md").read_text(encoding="utf-8")
    row = next(line for line in text.splitlines() if line.startswith('| `matches "regex"`'))
    assert "RE2" in row and "re.search" not in row, row
    rule = b'when new order if ship_to.city matches "(a)\\1" then allocate'
    data = b"version: 1\nrules:\n  - name: r\n    rule: " + rule + b"\n"
    ruleset, found = check_ruleset_bytes(data, "r.yaml")
    assert ruleset is None and "backreferences" in (found[0].hint or ""), found


def test_every_crontab_line_calls_dibs_by_its_path() -> None:
    """cron runs without the venv activated: README's daily sync recipe called a bare `dibs`,
    which cron cannot find (`dibs: not found`), where docs/deployment.md names .venv/bin/dibs."""
    entry = re.compile(r"^([0-9*,/-]+\s+){5}\S")
    lines = [
        line
        for path in [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]
        for line in path.read_text(encoding="utf-8").splitlines()
        if entry.match(line) and "dibs" in line
    ]
    assert len(lines) >= 2, "the crontab recipes were not found: the check reads nothing"
    for line in lines:
        assert not re.search(r"(^|[\s;&|])dibs\s", line), line


# ------------------------------------------------------------------------------------- links


def test_docs_exist() -> None:
    names = {p.name for p in DOCS.glob("*.md")}
    assert {
        "README.md",
        "concepts.md",
        "rule-language.md",
        "rule-files.md",
        "cli.md",
        "json.md",
        "exit-codes.md",
        "deployment.md",
    } <= names
    assert (ROOT / "LICENSE").read_text(encoding="utf-8").lstrip().startswith("Apache License")


def test_the_docs_index_lists_every_document() -> None:
    """docs/README.md is where a newcomer starts: its table names every page (channels.md was
    missing, so the Shopify and WooCommerce page could only be found from other pages)."""
    index = (DOCS / "README.md").read_text(encoding="utf-8")
    rows = set(re.findall(r"^\| \[([\w.-]+\.md)\]\(\1\) \|", index, re.MULTILINE))
    assert rows == {p.name for p in DOCS.glob("*.md")} - {"README.md"}


def test_link_parser_finds_links_and_ignores_code(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "See [a](a.md), [b](../b.md#x 'ignored title'), ![img](pic.png) and\n"
        "`[not](code.md)`.\n\n```\n[not](fenced.md)\n```\n[ref]: ref.md\n",
        encoding="utf-8",
    )
    assert sorted(links(page)) == ["../b.md#x", "a.md", "pic.png", "ref.md"]
    assert slug("`dibs explain`") == "dibs-explain"
    assert slug("Priority: what happens when several rules match") == (
        "priority-what-happens-when-several-rules-match"
    )


@pytest.mark.parametrize("path", markdown_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_links_stay_inside_the_repository_and_resolve(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert "shared/SPEC.md" not in text, f"{path.name} refers to the SPEC outside the repository"
    assert "../shared" not in text, f"{path.name} refers to ../shared outside the repository"
    # "SPEC §N" names the internal contract a user who clones dibs does not have: say it here.
    assert "SPEC §" not in text, f"{path.name} cites the SPEC; point at a page of docs/ instead"
    problems: list[str] = []
    for target in links(path):
        if _is_external(target):
            continue
        file_part, _, anchor = target.partition("#")
        resolved = (path.parent / file_part).resolve() if file_part else path
        if not resolved.is_relative_to(ROOT):
            problems.append(f"{target}: leaves the repository")
            continue
        if not resolved.exists():
            problems.append(f"{target}: no such file")
            continue
        if anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            problems.append(f"{target}: no heading #{anchor} in {resolved.name}")
    assert not problems, f"{path.relative_to(ROOT)}: " + "; ".join(problems)


# --------------------------------------------------------------------------------- commands


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _leaf_commands(
    parser: argparse.ArgumentParser, prefix: str = "dibs"
) -> dict[str, argparse.ArgumentParser]:
    """Every runnable command, e.g. {'dibs orders ship': <parser>, 'dibs allocate': ...}."""
    subs = _subcommands(parser)
    if not subs:
        return {prefix: parser}
    found: dict[str, argparse.ArgumentParser] = {}
    for name, sub in subs.items():
        found.update(_leaf_commands(sub, f"{prefix} {name}"))
    return found


def _long_options(parser: argparse.ArgumentParser) -> list[str]:
    return [
        option
        for action in parser._actions
        for option in action.option_strings
        if option.startswith("--") and option != "--help"
    ]


def _cli_sections() -> dict[str, str]:
    """docs/cli.md split at its headings: {'dibs orders ship': section text, ...}."""
    text = (DOCS / "cli.md").read_text(encoding="utf-8")
    sections: dict[str, str] = {}
    parts = re.split(r"^#{2,3}\s+(.+)$", text, flags=re.MULTILINE)
    for heading, body in zip(parts[1::2], parts[2::2], strict=True):
        sections[heading.strip().strip("`").strip()] = body
    return sections


@pytest.fixture(scope="module")
def parser() -> argparse.ArgumentParser:
    from engine.cli import build_parser  # if the CLI module moves, update this import

    return build_parser()


def test_the_command_list_at_the_top_of_cli_md_links_every_command(
    parser: argparse.ArgumentParser,
) -> None:
    """The "Commands:" line is a newcomer's map of cli.md: kits, serve, events and deliveries
    had sections but were missing from it."""
    text = (DOCS / "cli.md").read_text(encoding="utf-8")
    listed = text.split("Commands: ", 1)[1].split("\n\n", 1)[0]
    linked = set(re.findall(r"\[`([a-z]+)`\]\(#dibs-\1\)", listed))
    assert linked == set(_subcommands(parser))


def test_every_top_level_command_has_a_section_in_cli_md(
    parser: argparse.ArgumentParser,
) -> None:
    commands = _subcommands(parser)
    assert {"allocate", "orders", "rules", "run"} <= set(commands)  # the parser was read
    sections = _cli_sections()
    missing = [name for name in commands if f"dibs {name}" not in sections]
    assert not missing, f"docs/cli.md has no `## dibs NAME` section for: {missing}"


def test_every_command_and_option_is_documented(parser: argparse.ArgumentParser) -> None:
    sections = _cli_sections()
    leaves = _leaf_commands(parser)
    assert "dibs orders ship" in leaves and "dibs inventory set" in leaves
    problems: list[str] = []
    global_options = set(_long_options(parser))  # --db: documented once, accepted anywhere
    for command, sub in leaves.items():
        if command not in sections:
            problems.append(f"no section for `{command}`")
            continue
        body = sections[command]
        if "```" not in body:
            problems.append(f"`{command}` has no example")
        for option in _long_options(sub):
            if option in global_options:
                continue
            if not re.search(rf"{re.escape(option)}(?![\w-])", body):
                problems.append(f"`{command}` does not document {option}")
    global_section = sections.get("Global options and environment", "")
    for option in _long_options(parser):
        if option not in global_section:
            problems.append(f"global option {option} is not documented")
    assert not problems, "docs/cli.md: " + "; ".join(problems)


# ----------------------------------------------------------------------------- quick start


def _code_blocks(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    return [m.group(1).strip() for m in re.finditer(r"^```sh\n(.*?)^```", text, re.M | re.S)]


def test_ci_runs_the_readme_test_command_exactly() -> None:
    """The README's first two blocks are what a newcomer pastes; CI must run the second one."""
    install_demo, install_test = _code_blocks(ROOT / "README.md")[:2]
    assert install_demo.endswith(".venv/bin/dibs demo")
    assert "python3.11" not in install_demo + install_test  # `python3 -m venv` works
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert install_test in ci.splitlines(), f".ci/run does not run {install_test!r}"


@pytest.mark.parametrize("path", [ROOT / "README.md", *sorted(DOCS.glob("*.md"))], ids=str)
def test_every_file_the_docs_name_exists(path: Path) -> None:
    """A newcomer opens the files the docs name: the README sent them to `engine/bulk.py`,
    which had moved to `engine/store/bulk.py`."""
    named = re.findall(
        r"`((?:engine|dsl|rules|tests|examples|docs)/[\w/.-]*\.(?:py|md|yaml|csv|json|lark))`",
        path.read_text(encoding="utf-8"),
    )
    assert [n for n in named if not (ROOT / n).exists()] == []


def test_the_retry_count_the_docs_give_is_the_code_s() -> None:
    """The README said deadlocks are retried 5 times; the code (and deployment.md) say 8."""
    from engine.store.database import ATTEMPTS

    for path in [ROOT / "README.md", *DOCS.glob("*.md")]:
        for count in re.findall(r"retried whole \((\d+) attempts\)", path.read_text("utf-8")):
            assert int(count) == ATTEMPTS, path.name
