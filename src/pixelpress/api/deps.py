"""Annotated dependencies, one per resource (the services the root built, the API's
configuration, the caller, paging): a route takes the few it needs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Query, Request
from starlette.applications import Starlette

from pixelpress.api.config import ApiConfig
from pixelpress.domain import signing
from pixelpress.domain.errors import Forbidden, Unauthenticated
from pixelpress.domain.models import ImageFilter, ImageOrder, Page, User
from pixelpress.ports import (
    Cache,
    Clock,
    Database,
    DownloadLinks,
    ImageProcessor,
    Metrics,
    ObjectStorage,
    PasswordHasher,
    RateLimiter,
    TaskQueue,
    TokenService,
    WebhookSender,
)
from pixelpress.services import Services
from pixelpress.usecases import accounts, delivery, notifications
from pixelpress.usecases.signed_urls import UrlKeys

ACCESS_COOKIE = "access_token"
REFRESH_COOKIE = "refresh_token"
CSRF_COOKIE = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
T = TypeVar("T")


def services_of(app: Starlette) -> Services:
    """The services `app` runs on (set by `create_app`)."""
    services: Services = app.state.services
    return services


def _resource(part: Callable[[Services], T]) -> Any:
    """A dependency on one part of the services."""

    async def dependency(request: Request) -> T:
        return part(services_of(request.app))

    return Depends(dependency)


Db = Annotated[Database, _resource(lambda s: s.db)]
Storage = Annotated[ObjectStorage, _resource(lambda s: s.storage)]
Links = Annotated[DownloadLinks, _resource(lambda s: s.links)]
Jobs = Annotated[TaskQueue, _resource(lambda s: s.queue)]
Notices = Annotated[TaskQueue, _resource(lambda s: s.notices)]
CacheDep = Annotated[Cache, _resource(lambda s: s.cache)]
Limiter = Annotated[RateLimiter, _resource(lambda s: s.rate_limiter)]
Processor = Annotated[ImageProcessor, _resource(lambda s: s.processor)]
Hasher = Annotated[PasswordHasher, _resource(lambda s: s.hasher)]
Tokens = Annotated[TokenService, _resource(lambda s: s.tokens)]
Webhooks = Annotated[WebhookSender, _resource(lambda s: s.webhooks)]
MetricsDep = Annotated[Metrics, _resource(lambda s: s.metrics)]
ClockDep = Annotated[Clock, _resource(lambda s: s.clock)]
UrlKeysDep = Annotated[UrlKeys, _resource(lambda s: s.url_keys)]
SessionTtlDep = Annotated[accounts.SessionTtl, _resource(lambda s: s.session_ttl)]
Deliverer = Annotated[delivery.Deliverer, _resource(lambda s: s.deliverer)]
Notifier = Annotated[notifications.Notifier, _resource(lambda s: s.notifier)]
Config = Annotated[ApiConfig, _resource(lambda s: s.api)]


async def base_url(request: Request, config: Config) -> str:
    """Where links we hand out point: the configured public URL, else the request's own."""
    return config.public_url or str(request.base_url)


BaseUrl = Annotated[str, Depends(base_url)]


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def check_csrf(request: Request) -> None:
    """For a request authenticated by a cookie: an unsafe one must carry the X-CSRF-Token header
    equal to the CSRF cookie (double submit), since browsers send cookies on their own, to any
    site's forms included. Every cookie-authenticated change goes through here: ordinary
    routes, refresh and logout alike."""
    if request.method in SAFE_METHODS:
        return
    expected = request.cookies.get(CSRF_COOKIE, "")
    given = request.headers.get(CSRF_HEADER, "")
    if not expected or not signing.equal(expected, given):
        raise Forbidden(
            "Cookie-authenticated requests that change data need the X-CSRF-Token header.",
            code="csrf_failed",
        )


def cookie_token(request: Request, name: str) -> str | None:
    """The token of cookie `name`, CSRF-checked (see `check_csrf`); None without the cookie."""
    token = request.cookies.get(name)
    if token:
        check_csrf(request)
    return token or None


def presented_token(request: Request) -> str:
    """The bearer token, or the access cookie's (CSRF-checked)."""
    token = bearer_token(request) or cookie_token(request, ACCESS_COOKIE)
    if not token:
        raise Unauthenticated("Authentication is required.", code="not_authenticated")
    return token


async def current_user(request: Request, db: Db, tokens: Tokens, clock: ClockDep) -> User:
    return await accounts.authenticate(
        token=presented_token(request), db=db, tokens=tokens, clock=clock
    )


CurrentUser = Annotated[User, Depends(current_user)]


def paging(
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
) -> Page:
    return Page(number=page, size=limit)


Paging = Annotated[Page, Depends(paging)]


def image_filter(
    sort: Annotated[
        ImageOrder,
        Query(description="`-created_at` (newest first, the default), `created_at`, "
              "`filename` or `-filename` (by name, ignoring case)."),
    ] = ImageOrder.NEWEST,
    q: Annotated[
        str | None,
        Query(max_length=200, description="Only filenames containing this text, any case."),
    ] = None,
) -> ImageFilter:  # fmt: skip
    return ImageFilter(order=sort, filename=q or None)


ImageListing = Annotated[ImageFilter, Depends(image_filter)]
