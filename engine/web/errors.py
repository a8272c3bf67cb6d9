"""The one error shape of the HTTP API (SPEC §10): `{"error": {"code", "message", "field"}}`.

400 bad input (nothing written), 401 no or wrong token, 404 unknown order (or route), 409 the
order's state does not allow it, 413 a body over the limit. Anything unexpected is a 500 that
says only that: the stack trace and any SQL go to the server's log, never into an answer.
"""

from __future__ import annotations

import logging
from typing import Any, get_args

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException

from engine.errors import BadInput, DibsError, StateConflict, UnknownOrder
from engine.io.messages import json_reason, unknown_key

log = logging.getLogger("dibs.serve")

HTTP_CODES = {
    400: "bad_input",
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    500: "internal",
    503: "unavailable",
}


class ApiError(Exception):
    """An answer other than success, raised anywhere in a route."""

    def __init__(
        self,
        status: int,
        message: str,
        field: str | None = None,
        problems: list[str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field
        self.problems = problems or []
        self.headers = headers


def error_body(
    status: int, message: str, field: str | None = None, problems: list[str] | None = None
) -> dict[str, Any]:
    error: dict[str, Any] = {
        "code": HTTP_CODES.get(status, "error"),
        "message": message,
        "field": field,
    }
    if problems:
        error["problems"] = problems
    return {"error": error}


def error_response(
    status: int,
    message: str,
    field: str | None = None,
    problems: list[str] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(error_body(status, message, field, problems), status, headers=headers)


def from_dibs_error(exc: DibsError) -> ApiError:
    """The engine's errors as HTTP: bad input 400, unknown order 404, wrong state 409."""
    if isinstance(exc, BadInput):
        # A hint continues the message (`where:1:1: unknown field … \n  hint: …`), which
        # already holds it: it is no problem of its own to list in `problems`.
        problems = [p.strip() for p in exc.problems if not p.strip().startswith("hint:")]
        return ApiError(400, str(exc), exc.field, problems)
    if isinstance(exc, UnknownOrder):
        return ApiError(404, str(exc))
    if isinstance(exc, StateConflict):
        return ApiError(409, str(exc))
    return ApiError(409, str(exc))  # any other refusal of a valid request


#: What a body that is not a JSON document is told (curl's `-d` sends a form by default).
NOT_JSON = "the body must be JSON, sent with `Content-Type: application/json`"

#: What a request without the body its endpoint takes is told.
EMPTY_BODY = "the body is empty: send a JSON document, with `Content-Type: application/json`"

#: pydantic's words for a whole body of the wrong kind, and what they mean in JSON.
_BODY_KINDS = {
    "model_attributes_type": "a JSON object",
    "model_type": "a JSON object",
    "dict_type": "a JSON object",
    "list_type": "a JSON array",
}


def not_json(content_type: str | None) -> str:
    """The answer to a body sent as something other than JSON (a form, text, no type)."""
    sent = f"`{content_type}`" if content_type else "no Content-Type"
    return f"{NOT_JSON}; this request sent {sent}"


def is_json(content_type: str | None) -> bool:
    kind = (content_type or "").split(";")[0].strip().lower()
    return kind == "application/json" or kind.endswith("+json")


def _validation_field(exc: RequestValidationError, request: Request) -> tuple[str, str | None]:
    content_type = request.headers.get("content-type")
    errors = exc.errors()
    # An unknown key explains the missing one it misspells (`onhand` for `on_hand`): say it.
    first = next((e for e in errors if e.get("type") == "extra_forbidden"), None)
    first = first or (errors[0] if errors else {})
    loc = tuple(first.get("loc", ()))
    if first.get("type") == "json_invalid":
        return _invalid_json(exc, first), "body"
    if loc == ("body",) and first.get("type") == "missing":
        return EMPTY_BODY, "body"  # pydantic said "Field required", naming no field
    if loc == ("body",) and first.get("type") in _BODY_KINDS:
        # The whole body is of the wrong kind: it was not sent as JSON, or it is JSON of the
        # wrong shape (`[1]` where an object goes), not pydantic's "valid dictionary" words.
        if not is_json(content_type):
            return not_json(content_type), "body"
        return f"body: expected {_BODY_KINDS[str(first['type'])]}", "body"
    where = [str(p) for p in loc if p not in ("body", "query", "path")]
    field = ".".join(where) or None
    if first.get("type") == "extra_forbidden" and loc[:1] == ("body",) and field:
        return _unknown_key(request, loc[1:]), field
    message = _words(first)
    return (f"{field}: {message}" if field else message), field


def _words(error: dict[str, Any]) -> str:
    """dibs's words for pydantic's: `is required`, `must be …` (not "Input should be")."""
    kind = error.get("type")
    if kind == "missing":
        return "is required"
    message = str(error.get("msg", "invalid request")).removeprefix("Value error, ")
    return message.replace("Input should be", "must be", 1)


def _unknown_key(request: Request, loc: tuple[Any, ...]) -> str:
    """`unknown key 'dryrun'; did you mean 'dry_run'?`, as an import file says it, with the
    keys the route's body model takes where the unknown one stands."""
    route = request.scope.get("route")
    body = getattr(route, "body_field", None)
    model = _model_in(body.field_info.annotation) if body is not None else None
    for part in loc[:-1]:
        field = model.model_fields.get(str(part)) if model is not None else None
        if isinstance(part, str):
            model = _model_in(field.annotation) if field is not None else None
    path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc[:-1])
    prefix = f"{path.removeprefix('.')}." if path else ""
    # A key's name in the body: its alias where it has one (`from`, a Python keyword).
    fields = model.model_fields if model is not None else {}
    known = [info.alias or name for name, info in fields.items()]
    return unknown_key(loc[-1], known, prefix=prefix)


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model an annotation holds (`ShipToIn | None`, `list[LineIn] | None`)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _invalid_json(exc: RequestValidationError, error: dict[str, Any]) -> str:
    """`body:LINE:COLUMN: invalid JSON: …`, as an import file's error says it: FastAPI puts the
    parser's character offset where a field name goes (`loc: ("body", 15)`)."""
    loc = error.get("loc", ())
    pos = loc[1] if len(loc) > 1 and isinstance(loc[1], int) else 0
    doc = exc.body
    text = doc.decode("utf-8", "replace") if isinstance(doc, bytes) else str(doc or "")
    line = text.count("\n", 0, pos) + 1
    column = pos - (text.rfind("\n", 0, pos) + 1) + 1
    why = (error.get("ctx") or {}).get("error")
    return f"body:{line}:{column}: invalid JSON" + (f": {json_reason(str(why))}" if why else "")


def unreadable_body(cause: BaseException) -> str:
    """What FastAPI's "There was an error parsing the body" was: JSON's parser gave up on
    something other than a syntax error (a syntax error is `body:LINE:COLUMN: invalid JSON`)."""
    if isinstance(cause, RecursionError):
        return "body: is nested too deeply to be read as JSON"
    if isinstance(cause, UnicodeDecodeError):
        return f"body: is not UTF-8 text (byte {cause.start + 1})"
    return "body: cannot be read as JSON"


def _sent_path(request: Request) -> str:
    """The path as the request wrote it (`/orders/A%2Fship`, not the decoded `/orders/A/ship`,
    which names another route)."""
    raw = request.scope.get("raw_path")
    return raw.decode("latin-1") if isinstance(raw, bytes) else request.url.path


def install(app: FastAPI) -> None:
    """Route every failure through the one shape."""

    @app.exception_handler(ApiError)
    async def _api(_: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.message, exc.field, exc.problems, exc.headers)

    @app.exception_handler(DibsError)
    async def _dibs(_: Request, exc: DibsError) -> JSONResponse:
        api = from_dibs_error(exc)
        return error_response(api.status, api.message, api.field, api.problems)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        message, field = _validation_field(exc, request)
        return error_response(400, message, field)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> JSONResponse:
        if exc.status_code == 400 and exc.__cause__ is not None:
            return error_response(400, unreadable_body(exc.__cause__), "body")
        message = "no such endpoint" if exc.status_code == 404 else str(exc.detail)
        allowed = (getattr(exc, "headers", None) or {}).get("Allow")
        if exc.status_code == 405 and allowed:
            message = (
                f"{request.method} is not allowed on {_sent_path(request)}; it takes {allowed}"
            )
        return error_response(exc.status_code, message, headers=getattr(exc, "headers", None))

    @app.exception_handler(SQLAlchemyError)
    async def _database(request: Request, exc: SQLAlchemyError) -> JSONResponse:
        log.error("database error on %s %s", request.method, request.url.path, exc_info=exc)
        return error_response(503, "the database could not complete the request; try again")

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
        return error_response(500, "internal error; the server log has the details")
