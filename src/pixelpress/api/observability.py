"""Request ids, structured JSON logs and request metrics."""

from __future__ import annotations

import contextvars
import logging
import re
import secrets
import sys
import time
from collections.abc import Callable
from typing import Any

from fastapi.routing import iter_route_contexts
from pythonjsonlogger.json import JsonFormatter
from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pixelpress.api.errors import internal_error
from pixelpress.domain.redact import redact_text
from pixelpress.ports import Metrics

logger = logging.getLogger(__name__)
request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
EVERY_ANSWER = ((b"x-content-type-options", b"nosniff"),)
"""Headers on every answer, errors and files included: no browser guesses a type we did not say."""
UNMATCHED = "unmatched"


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


STANDARD_FIELDS = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class RedactSecretsFilter(logging.Filter):
    """Credentials out of every record the handler writes, whoever logged it (aio-pika,
    taskiq, uvicorn and SQLAlchemy log URLs too): the message with its arguments, the
    traceback and any extra field, each through `redact_text`. The record is rewritten in
    place (formatted message, traceback as text), so every formatter prints the clean text."""

    _tracebacks = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # arguments that do not fit the format: show both, cleaned
            message = f"{record.msg} {record.args!r}"
        record.msg, record.args = redact_text(message), ()
        if record.exc_info:
            record.exc_text = self._tracebacks.formatException(record.exc_info)
            record.exc_info = None
        if record.exc_text:
            record.exc_text = redact_text(record.exc_text)
        if record.stack_info:
            record.stack_info = redact_text(record.stack_info)
        for name, value in list(vars(record).items()):
            if name not in STANDARD_FIELDS and isinstance(value, str):
                setattr(record, name, redact_text(value))
        return True


def configure_logging(level: str, fmt: str) -> None:
    """One handler on stdout for everything (uvicorn's loggers included), which never writes a
    password or a token (see RedactSecretsFilter)."""
    handler = logging.StreamHandler(sys.stdout)
    handler.addFilter(RequestIdFilter())
    handler.addFilter(RedactSecretsFilter())
    if fmt == "json":
        handler.setFormatter(
            JsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            )
        )
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True


class RouteTemplates:
    """The template of a request the router did not label: a plain Starlette route (signed /i/
    URLs; FastAPI's router leaves those out of the scope) or an answer given before routing
    (an early 429). The app's routes, flattened once with their prefixes, are matched in the
    router's order; a path no route matches stays `unmatched`, so labels stay bounded."""

    def __init__(self) -> None:
        self._table: list[tuple[re.Pattern[str], str]] | None = None

    def _build(self, app: Any) -> list[tuple[re.Pattern[str], str]]:
        table = []
        for context in iter_route_contexts(getattr(app, "routes", [])):
            pattern = getattr(context, "path_regex", None)
            mount = isinstance(context.original_route, Mount)
            template = context.path_format if mount else context.path
            if pattern is not None and template:
                table.append((pattern, template))
        return table

    def __call__(self, scope: Scope) -> str:
        routed = route_template(scope)
        if routed != UNMATCHED:
            return routed
        if self._table is None:
            self._table = self._build(scope.get("app"))
        path = scope["path"]
        return next((t for pattern, t in self._table if pattern.match(path)), UNMATCHED)


def route_template(scope: Scope) -> str:
    """The matched route as a template with its router's prefix (`/api/v1/images/{image_id}`):
    bounded label values, whatever ids the paths carry."""
    route = scope.get("route")
    suffix = getattr(route, "path", None)
    pattern = getattr(route, "path_regex", None)
    if suffix is None or pattern is None:
        return UNMATCHED
    path: str = scope["path"]
    # Included routers keep their own routes: the prefix is what precedes the matched part.
    for start in range(len(path)):
        if path[start] == "/" and pattern.fullmatch(path[start:]):
            return path[:start] + str(suffix)
    return str(suffix)


def request_id_of(headers: dict[bytes, bytes]) -> str:
    """The caller's X-Request-ID (from the request's raw headers) when it is sane, else a new
    one (32 random hex digits)."""
    given = headers.get(b"x-request-id", b"").decode("latin-1")
    return given if SAFE_ID.match(given) else secrets.token_hex(16)


class ObservabilityMiddleware:
    """Gives each request an id (the caller's X-Request-ID when it is sane), returns it in the
    X-Request-ID header, and counts and times the request by its route template."""

    def __init__(self, app: ASGIApp, *, metrics: Callable[[], Metrics]) -> None:
        self.app = app
        self.metrics = metrics
        self.templates = RouteTemplates()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = request_id_of(dict(scope["headers"]))
        token = request_id.set(rid)
        status = 0
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", rid.encode()),
                    *EVERY_ANSWER,
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            if status:  # the answer has begun: nothing more can be said
                raise
            # Here rather than in Starlette's outermost handler, so that the 500 and its
            # traceback carry the request id like every other answer and log line.
            logger.exception("Unhandled error in %s %s", scope["method"], scope["path"])
            await internal_error()(scope, receive, send_with_id)
        finally:
            self.metrics().request_served(
                method=scope["method"],
                route=self.templates(scope),
                status=status or 500,  # none at all: the request died (a disconnect)
                seconds=time.perf_counter() - started,
            )
            request_id.reset(token)
