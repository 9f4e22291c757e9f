"""Rate limits on every request: a default bucket per caller, stricter ones for login, uploads
and transformations. Every response carries the RateLimit-* headers of its tightest bucket."""

from __future__ import annotations

import contextlib
import ipaddress
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pixelpress.api.errors import render_domain_error
from pixelpress.domain.errors import DomainError, RateLimited, Unauthenticated
from pixelpress.ports import RateLimiter, RateLimitResult, TokenService

# Signed delivery URLs are exempt: only specs an owner minted can be asked for, repeats are
# cache hits, and one page of thumbnails behind a CDN or a NAT must not spend a caller's bucket.
# So are the console's static files (/assets/): one page load asks for a dozen of them.
UNLIMITED = ("/healthz", "/readyz", "/metrics", "/docs", "/openapi.json", "/i/", "/assets/")
UPLOAD = re.compile(r"^/api(/v1)?/images(/upload)?/?$")
REPLACE = re.compile(r"^/api(/v1)?/images/[^/]+/?$")


def carries_image(method: str, path: str) -> bool:
    """An upload (POST /images) or a replacement (PUT /images/{id}): a large body is fine."""
    return (method == "POST" and bool(UPLOAD.match(path))) or (
        method == "PUT" and bool(REPLACE.match(path))
    )


TRANSFORM = re.compile(r"^/api(/v1)?/images/[^/]+/(transform|process)/?$")
LOGIN = re.compile(r"^/api(/v1)?/auth/(login|register|refresh)/?$")


@dataclass(frozen=True)
class Buckets:
    default: int
    login: int
    upload: int
    transform: int


def client_address(scope: Scope, trusted: list[str]) -> str:
    """The socket's address, or, behind a trusted proxy, the last untrusted X-Forwarded-For hop."""
    peer = str((scope.get("client") or ("unknown", 0))[0])
    networks = [ipaddress.ip_network(t, strict=False) for t in trusted]

    def is_trusted(addr: str) -> bool:
        try:
            ip = ipaddress.ip_address(addr)
        except ValueError:
            return False
        return any(ip in net for net in networks)

    if not networks or not is_trusted(peer):
        return peer
    forwarded: str = dict(scope["headers"]).get(b"x-forwarded-for", b"").decode("latin-1")
    hops = [h.strip() for h in forwarded.split(",") if h.strip()]
    for hop in reversed(hops):
        if not is_trusted(hop):
            return hop
    return peer


class RateLimitMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        limiter: Callable[[], RateLimiter],
        tokens: Callable[[], TokenService],
        buckets: Buckets,
        trusted_proxies: list[str],
        on_block: Callable[[str, str], Awaitable[None]] | None = None,
    ) -> None:
        self.app = app
        self.on_block = on_block
        self.limiter = limiter
        self.tokens = tokens
        self.buckets = buckets
        self.trusted = trusted_proxies

    def _caller(self, scope: Scope) -> str:
        headers = dict(scope["headers"])
        auth = headers.get(b"authorization", b"").decode("latin-1")
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else None
        if token is None:
            cookie = headers.get(b"cookie", b"").decode("latin-1")
            match = re.search(r"(?:^|;\s*)access_token=([^;]+)", cookie)
            token = match.group(1) if match else None
        if token:
            try:
                user_id, _ = self.tokens().read_access(token)
                return f"user:{user_id}"
            except Unauthenticated:
                pass
        return f"ip:{client_address(scope, self.trusted)}"

    async def _check(self, scope: Scope) -> tuple[RateLimitResult, str, str]:
        """(the tightest result, the key it counted, the bucket it came from)."""
        path, method = scope["path"], scope["method"]
        caller = self._caller(scope)
        limiter = self.limiter()
        tightest = await limiter.hit("default", caller, limit=self.buckets.default, per_seconds=60)
        if not tightest.allowed:
            return tightest, caller, "default"
        special: tuple[str, int, str] | None = None
        if method == "POST" and LOGIN.match(path):
            # Per address: guessing passwords for many accounts counts as one caller.
            special = ("login", self.buckets.login, f"ip:{client_address(scope, self.trusted)}")
        elif carries_image(method, path):
            special = ("upload", self.buckets.upload, caller)
        elif method == "POST" and TRANSFORM.match(path):
            special = ("transform", self.buckets.transform, caller)
        if special is None:
            return tightest, caller, "default"
        bucket, limit, key = special
        result = await limiter.hit(bucket, key, limit=limit, per_seconds=60)
        if not result.allowed or result.remaining < tightest.remaining:
            return result, key, bucket
        return tightest, caller, "default"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(UNLIMITED):
            await self.app(scope, receive, send)
            return
        try:
            result, caller, bucket = await self._check(scope)
        except DomainError as exc:
            await render_domain_error(exc)(scope, receive, send)
            return
        headers = [
            (b"ratelimit-limit", str(result.limit).encode()),
            (b"ratelimit-remaining", str(result.remaining).encode()),
            (b"ratelimit-reset", str(result.reset_after).encode()),
        ]
        if not result.allowed:
            if self.on_block is not None:
                with contextlib.suppress(DomainError):  # a log we cannot write blocks nothing
                    await self.on_block(caller, bucket)
            response = render_domain_error(RateLimited(retry_after=max(1, result.reset_after)))
            response.raw_headers.extend(headers)
            await response(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *headers]
            await send(message)

        await self.app(scope, receive, with_headers)
