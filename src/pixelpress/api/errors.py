"""The one table from domain errors to HTTP, and the one renderer of the error envelope."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from pixelpress.domain.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidInput,
    NotFound,
    RateLimited,
    TooLarge,
    Unauthenticated,
    Unavailable,
    Unprocessable,
    UnsupportedMedia,
)

log = logging.getLogger(__name__)

# Most specific first: Unprocessable is an InvalidInput.
STATUS: list[tuple[type[DomainError], int]] = [
    (Unprocessable, 422),
    (InvalidInput, 400),
    (Unauthenticated, 401),
    (Forbidden, 403),
    (NotFound, 404),
    (Conflict, 409),
    (TooLarge, 413),
    (UnsupportedMedia, 415),
    (RateLimited, 429),
    (Unavailable, 503),
]

HTTP_CODES = {
    400: ("bad_request", "The request is not valid."),
    401: ("not_authenticated", "Authentication is required."),
    403: ("forbidden", "You are not allowed to do this."),
    404: ("route_not_found", "There is no such route."),
    405: ("method_not_allowed", "This method is not allowed on this route."),
    413: ("too_large", "The request body is too large."),
    415: ("unsupported_media_type", "This content type is not accepted."),
}


def status_of(error: DomainError) -> int:
    return next(code for cls, code in STATUS if isinstance(error, cls))


def error_response(
    status: int,
    message: str,
    code: str,
    details: Any = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = {"error": message, "code": code, "details": details, "statusCode": status}
    return JSONResponse(jsonable_encoder(body), status_code=status, headers=headers)


def render_domain_error(error: DomainError) -> JSONResponse:
    status = status_of(error)
    headers: dict[str, str] = {}
    if isinstance(error, RateLimited | Unavailable):
        headers["Retry-After"] = str(error.retry_after)
    if isinstance(error, Unauthenticated):
        headers["WWW-Authenticate"] = "Bearer"
    return error_response(status, error.message, error.code, error.details, headers)


async def _domain(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    return render_domain_error(exc)


async def _validation(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    fields = [
        {
            "field": ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "body",
            "message": str(err.get("msg", "Invalid value.")),
        }
        for err in exc.errors()
    ]
    first = fields[0] if fields else {"field": "body", "message": "Invalid value."}
    message = f"Invalid value for '{first['field']}': {first['message']}"
    return error_response(400, message, "invalid_input", fields)


async def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code, message = HTTP_CODES.get(exc.status_code, ("http_error", str(exc.detail)))
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        # Starlette names the methods of the first route on the path; there may be several.
        headers["Allow"] = ", ".join(allowed_methods(request))
    return error_response(exc.status_code, message, code, None, headers)


def allowed_methods(request: Request) -> list[str]:
    """Every method some route answers on this request's path."""
    found = []
    for method in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"):
        scope = {**request.scope, "method": method}
        if any(route.matches(scope)[0] is Match.FULL for route in request.app.router.routes):
            found.append(method)
    return found


def internal_error() -> JSONResponse:
    """The answer to a bug: nothing of it is told to the client."""
    return error_response(500, "Internal server error.", "internal_error")


async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
    # A backstop: the observability middleware answers errors under it itself.
    log.exception("unhandled error", exc_info=exc)
    return internal_error()


def install(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(Exception, _unexpected)
