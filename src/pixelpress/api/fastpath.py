"""The hit path: a signed URL whose record and bytes this process holds in memory (see
`usecases.hot`) is answered here, in front of the middleware stack and the router, with what
the route would answer: the same signature and expiry checks, headers (ETag and 304,
Cache-Control, Vary, the file policy, Content-Disposition, nosniff), request id and metrics.
Anything else (a miss, a bad or expired signature, another path) goes on to the app as if
this were not here, and the route answers it, errors included.

Renders never happen here, so a hit never waits on admission control or a lock."""

from __future__ import annotations

import time
from collections.abc import Callable

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from pixelpress.api.observability import EVERY_ANSWER, request_id, request_id_of
from pixelpress.api.routes import delivery
from pixelpress.domain.errors import DomainError
from pixelpress.services import Services

Answer = tuple[int, list[tuple[bytes, bytes]], bytes]


class SignedHits:
    def __init__(self, app: ASGIApp, *, services: Callable[[], Services]) -> None:
        self.app = app
        self.services = services
        self.route = delivery.public.path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] not in ("GET", "HEAD")
            or not scope["path"].startswith("/i/")
        ):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        services = self.services()
        answer = self._answer(scope, services)
        if answer is None:
            await self.app(scope, receive, send)
            return
        status, headers, body = answer
        rid = request_id_of(scope)
        token = request_id.set(rid)  # uvicorn's access log line carries it
        try:
            headers += [(b"x-request-id", rid.encode()), *EVERY_ANSWER]
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body})
        finally:
            services.metrics.request_served(
                method=scope["method"],
                route=self.route,
                status=status,
                seconds=time.perf_counter() - started,
            )
            request_id.reset(token)

    def _answer(self, scope: Scope, services: Services) -> Answer | None:
        """The answer when this process holds the variant's bytes, else None."""
        parts = scope["path"].split("/")
        if len(parts) != 5 or not all(parts[2:]):
            return None
        request = Headers(scope=scope)
        params = {"signature": parts[2], "options": parts[3], "image": parts[4]}
        try:
            asked, cache_control = delivery.read_signed_request(services, params, request)
        except DomainError:
            return None  # the route answers it, with the error envelope
        if asked.spec is None:
            return None  # the original's spec hash is known only from the image's row
        found = services.deliverer.records.hot_record(asked.image_id, asked.spec.hash)
        if found is None or found.data is None:
            return None
        headers = delivery.served_headers(
            asked.image_id, found, cache_control=cache_control, vary=asked.auto_format
        )
        raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
        if found.etag in delivery.if_none_match(request):
            return 304, raw, b""
        raw += [
            (b"content-length", str(len(found.data)).encode()),
            (b"content-type", found.media_type.encode()),
        ]
        return 200, raw, b"" if scope["method"] == "HEAD" else found.data
