"""The command line's words, without a database: help lines, examples, usage errors and database
URL checks (issue #16). The same things through the real command: tests/e2e/test_newcomer.py."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from engine.cli import build_parser
from engine.cli.common import check_database_url
from engine.cli.examples import EXAMPLES
from engine.cli.main import COMMANDS
from engine.errors import BadInput


def _leaves(parser: argparse.ArgumentParser, path: str = "") -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            found: dict[str, argparse.ArgumentParser] = {}
            for name, child in action.choices.items():
                found.update(_leaves(child, f"{path} {name}".strip()))
            return found
    return {path: parser}


@pytest.fixture(scope="module")
def leaves() -> dict[str, argparse.ArgumentParser]:
    return _leaves(build_parser())


def test_every_command_and_option_has_a_help_line(
    leaves: dict[str, argparse.ArgumentParser],
) -> None:
    assert {"allocate", "orders list", "orders ship", "status"} <= set(leaves)
    problems = []
    for command, parser in leaves.items():
        if not parser.description:
            problems.append(f"`dibs {command}` has no help line")
        for action in parser._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            if not action.help or action.help == argparse.SUPPRESS:
                name = "/".join(action.option_strings) or action.dest
                problems.append(f"`dibs {command}` {name} has no help line")
    assert not problems, problems


def test_no_help_points_at_a_document_the_user_does_not_have(
    leaves: dict[str, argparse.ArgumentParser],
) -> None:
    """Help speaks of what a command does; "SPEC §9" names a text that ships with no install."""
    said = {
        command: parser.format_help()
        for command, parser in leaves.items()
        if "SPEC" in parser.format_help()
    }
    assert said == {}


def test_every_command_shows_examples_of_itself(
    leaves: dict[str, argparse.ArgumentParser],
) -> None:
    for command, parser in leaves.items():
        assert parser.epilog and parser.epilog.startswith("examples:\n"), command
        lines = parser.epilog.splitlines()[1:]
        mine = [x for x in lines if f"dibs {command}" in x or f"dibs --db URL {command}" in x]
        assert mine, f"`dibs {command} --help` has no example of `dibs {command}`"
        assert parser.formatter_class is argparse.RawDescriptionHelpFormatter  # kept as written
    assert len(leaves["allocate"].epilog.splitlines()) - 1 >= 2  # type: ignore[union-attr]
    assert set(EXAMPLES) <= set(leaves), set(EXAMPLES) - set(leaves)  # no stale entries


def test_every_command_runs_something(leaves: dict[str, argparse.ArgumentParser]) -> None:
    """A command listed in COMMANDS whose module does not fill its parser in has no handler."""
    assert {path.split()[0] for path in leaves} == set(COMMANDS)
    assert not [path for path, parser in leaves.items() if not parser.get_default("handler")]


@pytest.mark.parametrize("name", list(COMMANDS))
def test_a_command_built_alone_is_the_one_in_the_whole_tree(
    name: str, leaves: dict[str, argparse.ArgumentParser]
) -> None:
    """`main` builds only the commands named on the command line; each must come out as the
    whole parser has it, every subcommand, option and help text."""
    alone = _leaves(build_parser([name]))
    mine = {path: parser for path, parser in leaves.items() if path.split()[0] == name}
    assert mine
    for path, parser in mine.items():
        assert alone[path].format_help() == parser.format_help()
    built = {path.split()[0] for path, parser in alone.items() if parser.get_default("handler")}
    assert built == {
        other for other, (module, _) in COMMANDS.items() if module == COMMANDS[name][0]
    }


def test_db_is_accepted_after_the_command() -> None:
    parser = build_parser()
    assert parser.parse_args(["orders", "list", "--db", "sqlite:///a.db"]).db == "sqlite:///a.db"
    assert parser.parse_args(["--db", "sqlite:///b.db", "orders", "list"]).db == "sqlite:///b.db"
    assert parser.parse_args(["orders", "list"]).db is None


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["alocate"], "unknown command 'alocate'; did you mean 'allocate'? (see 'dibs --help')"),
        (["orders", "shw", "A"], "orders: unknown command 'shw'; did you mean 'show'?"),
        (["allocate", "--policy", "unit"], "allocate: unknown --policy 'unit'; did you mean"),
        (["orders", "show"], "orders show: the following arguments are required: id"),
        (["zzz"], "unknown command 'zzz'; one of demo, inventory, orders"),
    ],
)
def test_usage_errors_say_it_once_with_a_hint(argv: list[str], message: str) -> None:
    with pytest.raises(BadInput) as caught:
        build_parser().parse_args(argv)
    text = str(caught.value)
    assert text.startswith(message)
    assert not text.startswith("dibs")  # main() adds the one "dibs: error: " prefix


def test_a_group_alone_lists_its_commands() -> None:
    with pytest.raises(BadInput) as caught:
        build_parser().parse_args(["inventory"])
    assert str(caught.value).startswith("dibs inventory needs a command")
    listed = [line.split()[0] for line in caught.value.problems]
    assert listed == ["set", "adjust", "receive", "import", "list"]


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("shop.db", "is not a URL; did you mean sqlite:///shop.db?"),
        ("sqlite://shop.db", "three slashes before a relative path (sqlite:///shop.db)"),
        ("mysql://u:pw@h/db", "'mysql://u:***@h/db': dibs works with SQLite and PostgreSQL"),
        ("oracle+cx://h/db", "not oracle"),
        ("postgresql+nosuchdriver://h/db", "the PostgreSQL driver nosuchdriver is not installed"),
    ],
)
def test_database_urls_that_cannot_work(url: str, says: str) -> None:
    with pytest.raises(BadInput, match=None) as caught:
        check_database_url(url)
    assert says in str(caught.value)
    assert "pw" not in str(caught.value)


def test_database_url_paths(tmp_path: Path) -> None:
    missing = f"sqlite:///{tmp_path}/no/dir/x.db"
    with pytest.raises(BadInput, match=f"the directory {tmp_path}/no/dir does not exist"):
        check_database_url(missing)
    with pytest.raises(BadInput, match="is a directory, not a database file"):
        check_database_url(f"sqlite:///{tmp_path}")
    for fine in (
        f"sqlite:///{tmp_path}/x.db",
        "sqlite://",
        "sqlite:///:memory:",
        "postgresql://u@h/db",
        "postgresql+psycopg://u@h/db",
    ):
        assert check_database_url(fine) == fine
