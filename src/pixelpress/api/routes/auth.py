"""/auth: register, login, refresh, logout, me."""

from __future__ import annotations

import secrets

from fastapi import Request, Response

from pixelpress.api.deps import (
    ACCESS_COOKIE,
    CSRF_COOKIE,
    REFRESH_COOKIE,
    ClockDep,
    Config,
    CurrentUser,
    Db,
    Hasher,
    Limiter,
    SessionTtlDep,
    Tokens,
    bearer_token,
    cookie_token,
)
from pixelpress.api.routing import api_router
from pixelpress.api.schemas import (
    AuthOut,
    LoginIn,
    LogoutIn,
    MessageOut,
    RefreshIn,
    RegisterIn,
    UserOut,
)
from pixelpress.domain.errors import InvalidInput, Unauthenticated
from pixelpress.usecases import accounts

router = api_router(prefix="/auth", tags=["auth"])


def _auth_out(message: str, signed_in: accounts.LoggedIn) -> AuthOut:
    t = signed_in.tokens
    return AuthOut(
        message=message,
        user=UserOut.of(signed_in.user),
        access_token=t.access_token,
        refresh_token=t.refresh_token,
        expires_in=t.expires_in,
    )


def _set_cookies(response: Response, signed_in: accounts.LoggedIn, *, secure: bool) -> None:
    """httponly access and refresh cookies (persistent only with remember-me), and the readable
    CSRF cookie a browser client echoes in X-CSRF-Token."""
    t = signed_in.tokens
    persistent = signed_in.remember_me
    common = {"secure": secure, "samesite": "lax"}
    response.set_cookie(
        ACCESS_COOKIE,
        t.access_token,
        max_age=t.expires_in if persistent else None,
        httponly=True,
        path="/",
        **common,  # type: ignore[arg-type]
    )
    response.set_cookie(
        REFRESH_COOKIE,
        t.refresh_token,
        max_age=t.refresh_expires_in if persistent else None,
        httponly=True,
        path="/api",
        **common,  # type: ignore[arg-type]
    )
    response.set_cookie(
        CSRF_COOKIE,
        secrets.token_urlsafe(24),
        max_age=t.refresh_expires_in if persistent else None,
        httponly=False,
        path="/",
        **common,  # type: ignore[arg-type]
    )


def _clear_cookies(response: Response) -> None:
    response.delete_cookie(ACCESS_COOKIE, path="/")
    response.delete_cookie(REFRESH_COOKIE, path="/api")
    response.delete_cookie(CSRF_COOKIE, path="/")


@router.post("/register", status_code=201, response_model=AuthOut)
async def register(
    body: RegisterIn,
    db: Db,
    hasher: Hasher,
    tokens: Tokens,
    clock: ClockDep,
    ttl: SessionTtlDep,
) -> AuthOut:
    signed_in = await accounts.register(
        username=body.username,
        email=str(body.email),
        password=body.password,
        db=db,
        hasher=hasher,
        tokens=tokens,
        clock=clock,
        ttl=ttl,
    )
    return _auth_out("User registered successfully.", signed_in)


@router.post("/login", response_model=AuthOut)
async def login(
    body: LoginIn,
    response: Response,
    db: Db,
    hasher: Hasher,
    tokens: Tokens,
    clock: ClockDep,
    ttl: SessionTtlDep,
    limiter: Limiter,
    config: Config,
) -> AuthOut:
    name = body.username or body.email
    if not name:
        raise InvalidInput("Give a username or an email.", code="missing_login", field="username")
    signed_in = await accounts.login(
        login=name,
        password=body.password,
        remember_me=body.remember_me,
        db=db,
        hasher=hasher,
        tokens=tokens,
        clock=clock,
        ttl=ttl,
        limiter=limiter,
        attempts_per_minute=config.login_attempts_per_account,
    )
    _set_cookies(response, signed_in, secure=config.cookie_secure)
    return _auth_out("Login successful.", signed_in)


@router.post("/refresh", response_model=AuthOut)
async def refresh(
    request: Request,
    response: Response,
    db: Db,
    tokens: Tokens,
    clock: ClockDep,
    config: Config,
    body: RefreshIn | None = None,
) -> AuthOut:
    by_cookie = not (body and body.refresh_token)
    token = cookie_token(request, REFRESH_COOKIE) if by_cookie else body and body.refresh_token
    if not token:
        raise Unauthenticated("A refresh token is required.", code="not_authenticated")
    signed_in = await accounts.refresh(refresh_token=token, db=db, tokens=tokens, clock=clock)
    if by_cookie:
        _set_cookies(response, signed_in, secure=config.cookie_secure)
    return _auth_out("Token refreshed.", signed_in)


@router.post("/logout", response_model=MessageOut)
async def logout(
    request: Request,
    response: Response,
    db: Db,
    tokens: Tokens,
    clock: ClockDep,
    body: LogoutIn | None = None,
) -> MessageOut:
    token = (body.token if body else None) or bearer_token(request)
    token = token or cookie_token(request, ACCESS_COOKIE) or cookie_token(request, REFRESH_COOKIE)
    if not token:
        raise Unauthenticated(
            "Nothing to log out: no token was presented.", code="not_authenticated"
        )
    await accounts.logout(token=token, db=db, tokens=tokens, clock=clock)
    _clear_cookies(response)
    return MessageOut(message="Logout successful.")


@router.get("/me", response_model=UserOut)
async def me(user: CurrentUser) -> UserOut:
    return UserOut.of(user)
