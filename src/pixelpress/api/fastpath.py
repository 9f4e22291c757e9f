"""The hit path: a signed URL whose record and bytes this process holds in memory (see
`usecases.hot`) is answered here, in front of the middleware stack and the router, with what
the route would answer: the same signature and expiry checks, headers (ETag and 304,
Cache-Control, Vary, the file policy, Content-Disposition, nosniff), request id and metrics.
Anything else (a miss, a bad or expired signature, another path) goes on to the app as if
this were not here, and the route answers it, errors included.

Renders never happen here, so a hit never waits on admission control or a lock."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from starlette.types import ASGIApp, Receive, Scope, Send

from pixelpress.api.observability import EVERY_ANSWER, request_id, request_id_of
from pixelpress.api.routes import delivery
from pixelpress.domain.errors import DomainError
from pixelpress.services import Services
from pixelpress.usecases.records import Delivered

logger = logging.getLogger(__name__)
MEMO_SIZE = 4096
"""Header lists kept (per variant and Cache-Control: expiring URLs count down each second)."""

Answer = tuple[int, list[tuple[bytes, bytes]], bytes]
HeadersKey = tuple[str, str, str, tuple[tuple[str, str], ...]]


class SignedHits:
    """The hit path. `answered` is called first thing for every request (see PixelpressApp in
    api/app.py); as an ASGI middleware, it stands in front of any app."""

    def __init__(self, app: ASGIApp | None = None, *, services: Callable[[], Services]) -> None:
        self.app = app
        self.services = services
        self.route = delivery.public.path
        self._headers: dict[HeadersKey, list[tuple[bytes, bytes]]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not await self.answered(scope, send):
            assert self.app is not None
            await self.app(scope, receive, send)

    async def answered(self, scope: Scope, send: Send) -> bool:
        """Answers the request if it is a hit this process holds; False: not answered."""
        if (
            scope["type"] != "http"
            or scope["method"] not in ("GET", "HEAD")
            or not scope["path"].startswith("/i/")
        ):
            return False
        started = time.perf_counter()
        headers: dict[bytes, bytes] = {}
        for name, value in scope["headers"]:
            headers.setdefault(name, value)  # the first of a repeated header, as the route reads
        try:
            services = self.services()
            answer = self._answer(scope, headers, services)
        except Exception:  # a bug here must not cost the request: the route answers it
            logger.exception("The hit path failed on %s", scope["path"])
            return False
        if answer is None:
            return False
        status, answered, body = answer
        rid = request_id_of(headers)
        token = request_id.set(rid)  # uvicorn's access log line carries it
        try:
            answered += [(b"x-request-id", rid.encode()), *EVERY_ANSWER]
            await send({"type": "http.response.start", "status": status, "headers": answered})
            await send({"type": "http.response.body", "body": body})
        finally:
            services.metrics.request_served(
                method=scope["method"],
                route=self.route,
                status=status,
                seconds=time.perf_counter() - started,
            )
            request_id.reset(token)
        return True

    def _answer(
        self, scope: Scope, headers: dict[bytes, bytes], services: Services
    ) -> Answer | None:
        """The answer when this process holds the variant's bytes, else None."""
        parts = scope["path"].split("/")
        if len(parts) != 5 or not all(parts[2:]):
            return None
        # Every header, as the route sees them: which ones a hit depends on (Accept, today) is
        # read_signed_request's business, not this module's.
        request = {k.decode("latin-1"): v.decode("latin-1") for k, v in headers.items()}
        params = {"signature": parts[2], "options": parts[3], "image": parts[4]}
        try:
            read = delivery.read_plain_request(services, params, request)
        except DomainError:
            return None  # the route answers it, with the error envelope
        if read is None:
            return None  # it names presets (or has no signature): the route looks them up
        scope[delivery.ALREADY_READ] = read  # for the route, if it answers
        asked, cache_control = read
        if asked.spec is None:
            return None  # the original's spec hash is known only from the image's row
        found = services.deliverer.records.hot_record(asked.image_id, asked.spec.hash)
        if found is None or found.data is None:
            return None
        raw = self._served_headers(asked.image_id, found, cache_control, asked.headers())
        if found.etag in delivery.if_none_match(request):
            return 304, raw, b""
        raw += [
            (b"content-length", str(len(found.data)).encode()),
            (b"content-type", found.media_type.encode()),
        ]
        return 200, raw, b"" if scope["method"] == "HEAD" else found.data

    def _served_headers(
        self, image_id: str, found: Delivered, cache_control: str, varies: dict[str, str]
    ) -> list[tuple[bytes, bytes]]:
        """The route's headers (`served_headers`), made once per variant, Cache-Control and
        Vary (a copy each time: the caller adds to it)."""
        key = (found.key, found.etag, cache_control, tuple(varies.items()))
        raw = self._headers.get(key)
        if raw is None:
            if len(self._headers) >= MEMO_SIZE:
                self._headers.clear()
            headers = delivery.served_headers(
                image_id, found, cache_control=cache_control, varies=varies
            )
            raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
            self._headers[key] = raw
        return list(raw)
