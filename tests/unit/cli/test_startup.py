"""Start-up stays cheap (issue #15): commands import only what they use.

No timing here (benchmarks time things: tests/bench/bench_startup.py). Each case runs the CLI's
main function in a fresh interpreter and lists the modules it imported: building the parser,
`--help`, `--version`, a usage error and `rules check` must not import SQLAlchemy, the web
stack or the service, nor any command module but those of the commands named; `--version` not
even the installed metadata; `orders show` needs SQLAlchemy but not Alembic (a current database
never loads the migration scripts), the web stack, the rule-file readers or the other commands.
A regression (an import moved back to the top of a command module) fails here, whatever the
machine's speed.
"""

from __future__ import annotations

import importlib.metadata
import json
import subprocess
import sys
from pathlib import Path

import pytest

from engine import __version__
from engine.cli.main import COMMANDS, main

#: Runs `main(argv)` with its output swallowed; prints the exit code and every imported module.
PROBE = """
import contextlib, io, json, sys
from engine.cli import main
out, err = io.StringIO(), io.StringIO()
with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
    try:
        code = main(sys.argv[1:])
    except SystemExit as exc:
        code = exc.code
print(json.dumps({"code": code, "out": out.getvalue(), "err": err.getvalue(),
                  "modules": sorted(sys.modules)}))
"""

WEB = {"fastapi", "starlette", "uvicorn", "httpx", "pydantic", "jinja2"}
DATABASE = {"sqlalchemy", "alembic", "psycopg", "engine.store", "engine.service"}
RULE_FILES = {"yaml", "jsonschema", "lark", "rules", "dsl"}
ENGINE_WORK = {"engine.run", "engine.web", "engine.store", "engine.service", "engine.io.imports"}
#: The modules that build and run commands (`engine.cli.main` builds `demo` and is always there).
COMMAND_MODULES = {f"engine.cli.{module}" for module, _ in COMMANDS.values()} - {"engine.cli.main"}
#: What building the parser (and so --help and --version) may not import.
NOT_FOR_THE_PARSER = WEB | DATABASE | RULE_FILES | ENGINE_WORK | {"rich", "importlib.metadata"}


def imported(tmp_path: Path, *argv: str) -> tuple[int, set[str]]:
    """The exit code of `dibs argv…` in a fresh interpreter and the top modules it imported
    (with their project subpackages: `engine.store`, `rules`, …)."""
    code, _, names = probe(tmp_path, *argv)
    return code, names


def probe(tmp_path: Path, *argv: str) -> tuple[int, str, set[str]]:
    """`imported`, with what the command printed on stdout."""
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *argv],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=True,
    )
    doc = json.loads(result.stdout)
    assert "Traceback" not in doc["err"], doc["err"]
    names: set[str] = set()
    for name in doc["modules"]:
        parts = name.split(".")
        names.update(".".join(parts[:n]) for n in range(1, min(len(parts), 3) + 1))
    return int(doc["code"] or 0), doc["out"], names


def _offenders(names: set[str], forbidden: set[str]) -> list[str]:
    return sorted(names & forbidden)


@pytest.mark.parametrize(
    ("argv", "module"),
    [
        (["--help"], None),
        (["orders", "--help"], "orders"),
        (["orders", "import", "--help"], "orders"),
        (["allocate", "--help"], "allocation"),
        (["rules", "--help"], "rules"),
        (["serve", "--help"], "serve"),
        (["ordrs", "list"], None),  # a usage error: did-you-mean, exit 2
        (["orders", "show", "A1", "--db", "mysql://x"], "orders"),  # refused before SQLAlchemy
    ],
    ids=lambda x: " ".join(x) if isinstance(x, list) else str(x),
)
def test_help_and_usage_errors_import_no_database_web_rules_or_other_commands(
    tmp_path: Path, argv: list[str], module: str | None
) -> None:
    code, names = imported(tmp_path, *argv)
    assert code in (0, 2)
    assert not _offenders(names, NOT_FOR_THE_PARSER)
    assert names & COMMAND_MODULES == ({f"engine.cli.{module}"} if module else set())


def test_version_imports_no_command_and_not_the_installed_metadata(tmp_path: Path) -> None:
    code, out, names = probe(tmp_path, "--version")
    assert code == 0
    assert out == f"dibs {__version__}\n"  # on stdout, as argparse's own version action prints
    assert not _offenders(names, NOT_FOR_THE_PARSER | COMMAND_MODULES)
    assert importlib.metadata.version("dibs") == __version__  # pyproject.toml reads it


def test_rules_check_reads_the_file_without_the_database(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("version: 1\nrules:\n  - name: ship\n    rule: when new order then allocate\n")
    code, names = imported(tmp_path, "rules", "check", str(rules))
    assert code == 0
    assert not _offenders(names, WEB | DATABASE | {"engine.run", "engine.web", "rich"})
    assert {"yaml", "lark", "rules"} <= names  # the guard sees what the command does use


def test_rules_check_of_a_file_with_tests_checks_their_orders_without_the_database(
    tmp_path: Path,
) -> None:
    """The orders of a file's tests are checked as an import would check them (engine.io's
    validators, pure Python): still no SQLAlchemy, web stack, service or rule tick."""
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "version: 1\nrules:\n  - name: ship\n    rule: when new order then allocate\n"
        "tests:\n  - name: t\n    orders: [{id: A, lines: [{sku: W, qty: 1}]}]\n"
        "    expect: {A: allocated}\n"
    )
    code, names = imported(tmp_path, "rules", "check", str(rules))
    assert code == 2  # the order has no channel
    forbidden = WEB | DATABASE | {"engine.web", "engine.run.ruletests", "rules.tick", "rich"}
    assert not _offenders(names, forbidden)
    assert "engine.io.fields" in names  # the guard sees what the command does use


def test_orders_show_opens_the_database_and_nothing_else(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    assert main(["--db", url, "orders", "add", "A1", "--channel", "web", "--line", "MUG:2"]) == 0
    for argv in (["orders", "show", "A1"], ["orders", "show", "A1", "--json"]):
        code, names = imported(tmp_path, "--db", url, *argv)
        assert code == 0
        assert "sqlalchemy" in names
        forbidden = WEB | {"alembic", "psycopg", "yaml", "jsonschema", "lark", "dsl.parser"}
        assert not _offenders(names, forbidden | {"engine.run", "engine.web"})
        # Nor the batch engine, the rule tick or the order file readers: a read of one order.
        unused = {
            "engine.service.allocation",
            "rules.tick",
            "engine.io.channels",
            "engine.io.imports",
            "rules.vocabulary",  # nor the rule language: the schema reads rules.columns
            "dsl.types",
            "dsl.syntax",
        }
        assert not _offenders(names, unused)
        assert names & COMMAND_MODULES == {"engine.cli.orders"}


def test_allocate_all_leaves_the_rule_language_unloaded(tmp_path: Path) -> None:
    """`allocate --all` runs no rule: the compiler and the tick (which `--order-by` on a
    computed field such as `age` needs, and imports then) stay out of its start-up."""
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    assert main(["--db", url, "orders", "add", "A1", "--channel", "web", "--line", "MUG:2"]) == 0
    code, names = imported(tmp_path, "--db", url, "allocate", "--all")
    assert code == 0 and "engine.service.allocation" in names
    assert not _offenders(names, {"rules.tick", "dsl.compile", "dsl.syntax", "lark", "yaml"})
