"""Rate limits on every request: a default bucket per caller, stricter ones for login, uploads
and transformations. Every response carries the RateLimit-* headers of its tightest bucket."""

from __future__ import annotations

import contextlib
import ipaddress
import re
from collections.abc import Awaitable, Callable, Sequence

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pixelpress.api.config import Buckets
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
DRY_RUN = re.compile(rb"(^|&)dryRun=true(&|$)")


def _dry_run(scope: Scope) -> bool:
    """A dry run renders nothing: it is not a transformation's cost."""
    return DRY_RUN.search(scope.get("query_string", b"")) is not None


LOGIN = re.compile(r"^/api(/v1)?/auth/(login|register|refresh)/?$")


def client_address(scope: Scope, trusted: Sequence[str]) -> str:
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


class Spender:
    """Spends a request from a bucket: the caller's own and, for a signed-in caller, the
    address's ceiling beside it. The middleware and the routes that budget renders share it."""

    def __init__(
        self,
        limiter: Callable[[], RateLimiter],
        buckets: Buckets,
        trusted_proxies: Sequence[str],
    ) -> None:
        self.limiter = limiter
        self.buckets = buckets
        self.trusted = trusted_proxies

    def address(self, scope: Scope) -> str:
        return f"ip:{client_address(scope, self.trusted)}"

    async def spend(self, bucket: str, limit: int, caller: str, address: str) -> RateLimitResult:
        """The tighter of the caller's result and, for a user, its address's ceiling."""
        limiter = self.limiter()
        result = await limiter.hit(bucket, caller, limit=limit, per_seconds=60)
        if not result.allowed or caller == address:
            return result
        ceiling = await limiter.hit(
            f"{bucket}-address", address, limit=limit * self.buckets.address_factor, per_seconds=60
        )
        return ceiling if not ceiling.allowed or ceiling.remaining < result.remaining else result

    async def charge(self, bucket: str, limit: int, caller: str, address: str) -> None:
        """`spend`, refusing with RateLimited (429) when the bucket is empty."""
        result = await self.spend(bucket, limit, caller, address)
        if not result.allowed:
            raise RateLimited(retry_after=max(1, result.reset_after))


class RateLimitMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        spender: Spender,
        tokens: Callable[[], TokenService],
        on_block: Callable[[str, str], Awaitable[None]] | None = None,
    ) -> None:
        self.app = app
        self.on_block = on_block
        self.spender = spender
        self.tokens = tokens
        self.buckets = spender.buckets

    def _caller(self, scope: Scope, address: str) -> str:
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
        return address

    async def _check(self, scope: Scope) -> tuple[RateLimitResult, str, str]:
        """(the tightest result, the key it counted, the bucket it came from)."""
        path, method = scope["path"], scope["method"]
        address = self.spender.address(scope)
        caller = self._caller(scope, address)
        buckets = self.buckets
        tightest = await self.spender.spend("default", buckets.default, caller, address)
        if not tightest.allowed:
            return tightest, caller, "default"
        special: tuple[str, int, str] | None = None
        if method == "POST" and LOGIN.match(path):
            # Per address: guessing passwords for many accounts counts as one caller (and
            # guessing one account's from many addresses is limited per account, at login).
            special = ("login", buckets.login, address)
        elif carries_image(method, path):
            special = ("upload", buckets.upload, caller)
        elif method == "POST" and TRANSFORM.match(path) and not _dry_run(scope):
            special = ("transform", buckets.transform, caller)
        if special is None:
            return tightest, caller, "default"
        bucket, limit, key = special
        result = await self.spender.spend(bucket, limit, key, address)
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
