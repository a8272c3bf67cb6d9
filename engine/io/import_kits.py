"""Kit CSV (`kit,component,qty`, one row per component): every problem with its file:line.

A kit's rows may stand anywhere in the file; together they are its whole new definition. Whether
the kits nest or clash with stock is decided against the database (`engine.service.kits`).
"""

from __future__ import annotations

from typing import TextIO

from engine.io.fields import Invalid, csv_rows, qty
from engine.io.messages import line_of, unknown_column

_KIT_COLUMNS = ("kit", "component", "qty")


def read_kits_csv(
    handle: TextIO, name: str, problems: list[str], places: dict[str, str]
) -> dict[str, list[tuple[str, int]]]:
    """Kit -> [(component, qty)] in file order; `places` gets each kit's first `file:line`."""
    reader, lines = csv_rows(handle, name, problems)
    header = next(lines, None)
    if header is None:
        if not problems:  # else the header row itself could not be read (said so)
            problems.append(f"{name}:1: empty file, expected a header: kit,component,qty")
        return {}
    index = _header_index(header, name, problems)
    if problems:
        return {}
    kits: dict[str, list[tuple[str, int]]] = {}
    seen: dict[tuple[str, str], str] = {}
    previous_end = reader.line_num
    for row in lines:
        where = f"{name}:{previous_end + 1}"
        previous_end = reader.line_num
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        if len(row) != len(header):
            problems.append(f"{where}: expected {len(header)} columns as in the header")
            continue
        kit, component = row[index["kit"]].strip(), row[index["component"]].strip()
        try:
            units = qty(row[index["qty"]])
        except Invalid as exc:
            problems.append(f"{where}: qty {exc}")
            continue
        if not kit or not component:
            problems.append(f"{where}: kit and component are both required")
            continue
        first = seen.setdefault((kit, component), where)
        if first is not where:
            problems.append(
                f"{where}: kit {kit!r} lists component {component!r} again "
                f"(first on {line_of(first)})"
            )
            continue
        places.setdefault(kit, where)
        kits.setdefault(kit, []).append((component, units))
    return kits


def _header_index(header: list[str], name: str, problems: list[str]) -> dict[str, int]:
    index: dict[str, int] = {}
    for i, cell in enumerate(header):
        column = cell.strip().lower()
        if column not in _KIT_COLUMNS:
            problems.append(f"{name}:1: {unknown_column(cell, i, _KIT_COLUMNS)}")
        elif column in index:
            problems.append(f"{name}:1: column {column!r} appears twice")
        else:
            index[column] = i
    missing = [c for c in _KIT_COLUMNS if c not in index]
    if missing:
        problems.append(
            f"{name}:1: missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
            "(the header needs kit,component,qty)"
        )
    return index
