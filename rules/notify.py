"""The `notify:` section of a rule file: outbound webhook endpoints (SPEC §13).

The schema checks the shape (and that every event is a known type); this checks what it
cannot: each URL is http or https with a host, and endpoint names are unique. Whether the
secret's environment variable is set is the deliverer's business (`dibs rules check` warns,
`dibs run` refuses to deliver unsigned): rule files are read without looking at the
environment. `secret_warnings` is that warning, over the environment its caller passes (the
command line's, the server's), so every place that checks a file warns alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from dsl.errors import shorten
from rules.errors import Diagnostic
from rules.filecheck import FileCheck
from rules.ruleset import NotifySpec, RuleSet


def secret_warnings(ruleset: RuleSet, environ: Mapping[str, str]) -> list[Diagnostic]:
    """A warning for each notify endpoint whose secret's variable is not set in `environ`."""
    return [
        Diagnostic(
            ruleset.path,
            *spec.secret_at,
            "warning",
            f"notify `{spec.name}`: the environment variable {spec.secret_env} is not set; "
            "dibs refuses to deliver to this endpoint unsigned",
            f"set {spec.secret_env} where `dibs run` runs; its deliveries wait until then",
        )
        for spec in ruleset.notify
        if not environ.get(spec.secret_env)
    ]


def _url_problem(url: str) -> str | None:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        return f"is not a valid URL ({exc})"
    if parts.scheme not in ("http", "https"):
        shown = f"`{parts.scheme}:`" if parts.scheme else "no scheme"
        return f"has {shown}; webhooks are sent over http or https"
    if not parts.hostname:
        return "names no host"
    return None


def check_notify(check: FileCheck, data: Any) -> list[NotifySpec]:
    """The endpoints of the file's `notify:` section, each problem reported at its place."""
    items = data.get("notify") if isinstance(data, dict) else None
    if not isinstance(items, list):
        return []
    found: list[NotifySpec] = []
    names: dict[str, int] = {}
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            continue
        name, url = item.get("name"), item.get("url")
        events, secret = item.get("events"), item.get("secret_env")
        if isinstance(name, str):
            if name in names:
                line, column = check.pos(("notify", index, "name"))
                check.error(
                    line,
                    column,
                    f"duplicate endpoint name `{shorten(name)}` (first at line {names[name]})",
                    "endpoint names must be unique in a file",
                )
            else:
                names[name] = check.pos(("notify", index, "name"))[0]
        if isinstance(url, str):
            problem = _url_problem(url)
            if problem:
                line, column = check.pos(("notify", index, "url"))
                check.error(
                    line,
                    column,
                    f"url `{shorten(url)}` {problem}",
                    "write it like https://wms.example.com/dibs",
                )
        if not (isinstance(name, str) and isinstance(url, str) and isinstance(secret, str)):
            continue
        if not isinstance(events, list) or not all(isinstance(e, str) for e in events):
            continue
        found.append(
            NotifySpec(
                name=name,
                url=url,
                events=frozenset(events),
                secret_env=secret,
                line=check.pos(("notify", index))[0],
                secret_at=check.pos(("notify", index, "secret_env")),
            )
        )
    return found
