"""A request-body limit that answers in the error envelope.

Hand-written because FastAPI's own `max_body_size` answers a declared Content-Length over the
limit with a plain-text 413, outside our envelope. Uploads get a larger limit than JSON routes."""

from __future__ import annotations

from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pixelpress.api.errors import render_domain_error
from pixelpress.domain.errors import TooLarge


def too_large(limit: int) -> TooLarge:
    return TooLarge(
        f"The request body is larger than the limit of {limit} bytes.",
        code="body_too_large",
        details={"limit": limit},
    )


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, *, limit_for: Callable[[str, str], int]) -> None:
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["method"], scope["path"])
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await render_domain_error(too_large(limit))(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise too_large(limit)
            return message

        await self.app(scope, counted, send)
