"""Annotated dependencies: the services, the caller, paging."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request

from pixelpress.bootstrap import Services
from pixelpress.domain import signing
from pixelpress.domain.errors import Forbidden, Unauthenticated
from pixelpress.domain.models import ImageFilter, ImageOrder, Page, User
from pixelpress.usecases import accounts

ACCESS_COOKIE = "access_token"
REFRESH_COOKIE = "refresh_token"
CSRF_COOKIE = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


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


async def current_user(request: Request, services: ServicesDep) -> User:
    return await accounts.authenticate(
        token=presented_token(request), db=services.db, tokens=services.tokens, clock=services.clock
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
