"""How the CLI shows things: Rich tables on a terminal, plain JSON for machines, progress bars.

Kept apart from cli.py so commands read as "do, then show" and so the rendering can be tested
without running a command. Rich is imported when something is shown, not when the parser is
built.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from rich.console import Console

#: Below this many items a progress bar is more noise than help.
PROGRESS_THRESHOLD = 2000

STATUS_STYLE = {
    "allocated": "green",
    "partially_allocated": "yellow",
    "could_not_allocate": "red",
    "overallocated": "bold magenta",
    "unallocated": "dim",
}


def console(stream: TextIO | None = None) -> Console:
    """A console on `stream`; piped or under cron it is 160 columns wide, not Rich's 80, so
    timestamps and ids are not cut to `2026-…` in logs and mails."""
    from rich.console import Console

    out = stream or sys.stdout
    width = None if out.isatty() else 160
    return Console(file=out, highlight=False, soft_wrap=False, width=width)


def print_json(document: Any, stream: TextIO | None = None) -> None:
    """One JSON document on stdout and nothing else (SPEC §8)."""
    out = stream or sys.stdout
    json.dump(document, out, indent=2, default=str)
    out.write("\n")


def print_table(
    title: str | None,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    stream: TextIO | None = None,
    style_column: str | None = None,
) -> None:
    """A table; cells of `style_column` are coloured by allocation status on a terminal.

    Titles and cells are the merchant's text (ids, tags, names, paths), shown as written: a
    `[` in them is escaped, never read as Rich markup (`[/x]` would raise, `[red]` vanish)."""
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=escape(title) if title else None, title_justify="left", show_lines=False)
    for name in columns:
        numeric = bool(rows) and all(isinstance(r[columns.index(name)], int) for r in rows)
        table.add_column(name, justify="right" if numeric else "left")
    styled = columns.index(style_column) if style_column in columns else None
    for row in rows:
        cells = ["" if v is None else escape(str(v)) for v in row]
        if styled is not None:
            style = STATUS_STYLE.get(cells[styled])
            if style:
                cells[styled] = f"[{style}]{cells[styled]}[/]"
        table.add_row(*cells)
    console(stream).print(table)


def print_records(
    title: str | None,
    records: Sequence[Mapping[str, Any]],
    columns: Sequence[str],
    stream: TextIO | None = None,
    style_column: str | None = "allocation_status",
) -> None:
    print_table(
        title, columns, [[r.get(c) for c in columns] for r in records], stream, style_column
    )


@contextmanager
def progress_bar(label: str, enabled: bool) -> Iterator[Callable[[int, int], None] | None]:
    """A progress bar on stderr when it is a terminal and `enabled`; else nothing at all."""
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    bar = Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(file=sys.stderr),
        transient=True,
    )
    task = bar.add_task(label, total=None)

    def update(done: int, total: int) -> None:
        if total >= PROGRESS_THRESHOLD:
            bar.update(task, completed=done, total=total)

    with bar:
        yield update
