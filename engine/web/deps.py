"""What every route receives: the service, the settings, the token check."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from typing import Annotated, Any

from fastapi import Depends, Request

from engine.errors import BadInput
from engine.model import Actor
from engine.service import Service
from engine.web.auth import SESSION_COOKIE, check_api_token, session_valid
from engine.web.settings import Settings

#: Who the ledger names for a change made through the API.
API_ACTOR = Actor("api")


def get_service(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def require_token(request: Request) -> None:
    """Every /api route but health: `Authorization: Bearer <DIBS_API_TOKEN>` (SPEC §10)."""
    check_api_token(request, get_settings(request))


def require_token_or_session(request: Request) -> None:
    """The API's documents also open for a dashboard session (a browser cannot send a bearer
    token when it follows a link)."""
    settings = get_settings(request)
    if session_valid(settings, request.cookies.get(SESSION_COOKIE)):
        return
    check_api_token(request, settings)


def refuse_unknown_query(request: Request) -> None:
    """A query parameter the route does not take is 400 with a did-you-mean, as an unknown key
    of a body or a file is: ignored, a typo (`?allocation-status=`) or a command-line option the
    API has not (`?sku=` on /orders) would answer every order as if it had filtered them. So is
    one given twice (`?channel=a&channel=b` answered channel b alone)."""
    known = _query_names(request.scope.get("route"))
    if known is None:
        return
    for name in request.query_params:
        if name in known:
            continue
        close = difflib.get_close_matches(name[:100], sorted(known), n=1)
        if close:
            hint = f"; did you mean {close[0]!r}?"
        else:
            hint = f"; it takes {', '.join(sorted(known))}" if known else "; it takes none"
        raise BadInput(f"unknown query parameter {name[:100]!r}{hint}", field=name[:100])
    for name in known:
        given = request.query_params.getlist(name)
        if len(given) > 1:  # every parameter takes one value: the last one won, silently
            raise BadInput(
                f"query parameter {name!r} is given {len(given)} times; it takes one value "
                "(statuses are comma-separated: allocation_status=allocated,overallocated)",
                field=name,
            )


def holding_nul(pairs: Iterable[tuple[Any, Any]]) -> str | None:
    """The name of the first (name, value) whose value holds a NUL (`%00`), else None: no
    stored value holds one, and on PostgreSQL it reached the database, a 503 "try again"."""
    return next((str(n) for n, v in pairs if isinstance(v, str) and "\x00" in v), None)


def refuse_unstorable(request: Request) -> None:
    """A path or query value with a NUL is 400 naming it (`holding_nul`)."""
    name = holding_nul([*request.path_params.items(), *request.query_params.multi_items()])
    if name is not None:
        raise BadInput(
            f"{name}: contains a NUL character (%00), which no value can hold", field=name
        )


def _query_names(route: Any) -> frozenset[str] | None:
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return None
    names: set[str] = set()
    todo = [dependant]
    while todo:  # the route's own query parameters and those of its dependencies
        one = todo.pop()
        names.update(str(p.alias) for p in one.query_params)
        todo.extend(one.dependencies)
    return frozenset(names)


def checked_from(service: Service, names: Sequence[str] | None) -> tuple[str, ...] | None:
    """A request's `from` (the CLI's `--from`), checked by the service's own check before
    anything is written, so that its error names `from`, as the request does."""
    if names is None:
        return None
    from engine.service.allocation import check_warehouses

    with service.store.read() as conn:
        return check_warehouses(service.tx(conn), names, label="from")


def get_ruleset(request: Request) -> Any:
    """The rule set the server runs with `--rules` (None without)."""
    return getattr(request.app.state, "ruleset", lambda: None)()


ServiceDep = Annotated[Service, Depends(get_service)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
#: What every JSON API route checks first: the token, the query's names, no NUL in any value.
API_CHECKS = [Depends(require_token), Depends(refuse_unknown_query), Depends(refuse_unstorable)]
