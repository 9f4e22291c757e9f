"""Accounts: register, login, refresh with rotation and reuse detection, logout, authenticate."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from pixelpress.domain.errors import Conflict, InvalidInput, RateLimited, Unauthenticated
from pixelpress.domain.ids import new_id
from pixelpress.domain.models import AuthSession, LogLevel, Role, Tokens, User
from pixelpress.domain.text import normal_name
from pixelpress.ports import Clock, Database, PasswordHasher, RateLimiter, TokenService
from pixelpress.usecases.logs import record

USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{2,31}")
"""Matched whole (fullmatch: `$` would let a trailing newline through), after NFKC."""
PASSWORD_MIN, PASSWORD_MAX = 8, 128
INVALID_CREDENTIALS = "Invalid credentials."


@dataclass(frozen=True)
class SessionTtl:
    normal: timedelta
    remember_me: timedelta


@dataclass(frozen=True)
class LoggedIn:
    user: User
    tokens: Tokens
    remember_me: bool = False


def _check_new_account(username: str, password: str) -> str:
    """The username as it is stored (NFKC), or InvalidInput. Comparisons fold its case."""
    username = normal_name(username)
    if not USERNAME.fullmatch(username):
        raise InvalidInput(
            "Usernames are 3 to 32 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit.",
            code="invalid_username",
            field="username",
        )
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        raise InvalidInput(
            f"Passwords are {PASSWORD_MIN} to {PASSWORD_MAX} characters long.",
            code="invalid_password",
            field="password",
        )
    return username


async def _open_session(
    user: User,
    *,
    db: Database,
    tokens: TokenService,
    clock: Clock,
    ttl: timedelta,
    persistent: bool = False,
) -> Tokens:
    now = clock.now()
    jti = new_id()
    session = AuthSession(
        id=new_id(),
        user_id=user.id,
        created_at=now,
        expires_at=now + ttl,
        current_refresh_jti=jti,
        persistent=persistent,
    )
    async with db.unit_of_work() as uow:
        await uow.sessions.add(session)
        await uow.commit()
    access, refresh, expires_in = tokens.issue(
        user.id, session.id, refresh_jti=jti, refresh_ttl=ttl
    )
    return Tokens(access, refresh, expires_in, int(ttl.total_seconds()))


async def create_user(
    *,
    username: str,
    email: str,
    password: str,
    role: Role = Role.USER,
    db: Database,
    hasher: PasswordHasher,
    clock: Clock,
) -> User:
    username = _check_new_account(username, password)
    email = email.strip().lower()
    async with db.unit_of_work(readonly=True) as uow:
        username_taken, email_taken = await uow.users.exists(username=username, email=email)
    if username_taken:
        raise Conflict("This username is already taken.", code="username_taken")
    if email_taken:
        raise Conflict("This email is already registered.", code="email_taken")
    user = User(
        id=new_id(),
        username=username,
        email=email,
        password_hash=await hasher.hash(password),
        role=role,
        created_at=clock.now(),
    )
    async with db.unit_of_work() as uow:
        try:
            await uow.users.add(user)
        except Conflict as exc:  # lost a race with an identical registration
            raise Conflict(
                "This username or email is already registered.", code="user_exists"
            ) from exc
        await uow.commit()
    return user


async def register(
    *,
    username: str,
    email: str,
    password: str,
    db: Database,
    hasher: PasswordHasher,
    tokens: TokenService,
    clock: Clock,
    ttl: SessionTtl,
) -> LoggedIn:
    user = await create_user(
        username=username, email=email, password=password, db=db, hasher=hasher, clock=clock
    )
    issued = await _open_session(user, db=db, tokens=tokens, clock=clock, ttl=ttl.normal)
    return LoggedIn(user, issued)


async def login(
    *,
    login: str,
    password: str,
    remember_me: bool,
    db: Database,
    hasher: PasswordHasher,
    tokens: TokenService,
    clock: Clock,
    ttl: SessionTtl,
    limiter: RateLimiter | None = None,
    attempts_per_minute: int = 5,
) -> LoggedIn:
    """`limiter`: attempts on one account are limited whatever address they come from (the
    per-address login limit alone let 30 addresses try 30 passwords); checked before any
    password is hashed."""
    login = normal_name(login)
    if limiter is not None:
        spent = await limiter.hit(
            "login-account", login.casefold(), limit=attempts_per_minute, per_seconds=60
        )
        if not spent.allowed:
            raise RateLimited(
                max(1, spent.reset_after),
                "Too many sign-in attempts for this account. Please try again later.",
            )
    async with db.unit_of_work(readonly=True) as uow:
        user = await uow.users.find_by_login(login)
    if user is None:
        await hasher.dummy_verify()  # an unknown user costs what a wrong password costs
        matches, upgraded = False, None
    else:
        matches, upgraded = await hasher.verify(password, user.password_hash)
    if user is None or not matches or user.disabled:
        await record(
            db,
            LogLevel.WARNING,
            "Failed login.",
            clock=clock,
            user_id=user.id if user else None,
            context={"login": login[:254], "reason": "disabled" if user and matches else "bad"},
        )
        raise Unauthenticated(INVALID_CREDENTIALS, code="invalid_credentials")
    user.last_login = clock.now()
    if upgraded:
        user.password_hash = upgraded
    async with db.unit_of_work() as uow:
        await uow.users.update(user)
        await uow.commit()
    session_ttl = ttl.remember_me if remember_me else ttl.normal
    issued = await _open_session(
        user, db=db, tokens=tokens, clock=clock, ttl=session_ttl, persistent=remember_me
    )
    return LoggedIn(user, issued, remember_me)


async def refresh(
    *, refresh_token: str, db: Database, tokens: TokenService, clock: Clock
) -> LoggedIn:
    user_id, session_id, jti = tokens.read_refresh(refresh_token)
    now = clock.now()
    new_jti = new_id()
    async with db.unit_of_work() as uow:
        session = await uow.sessions.get(session_id)
        user = await uow.sessions.active_user(session_id, now=now)
        if session is None or user is None or user.id != user_id or user.disabled:
            raise Unauthenticated("The refresh token is no longer valid.", code="invalid_token")
        if not await uow.sessions.rotate(session_id, expected_jti=jti, new_jti=new_jti):
            # A spent token came back: someone holds a copy. End the whole family.
            await uow.sessions.revoke(session_id, now)
            await uow.commit()
            raise Unauthenticated(
                "This refresh token was already used; the session has been ended.",
                code="refresh_token_reused",
            )
        await uow.commit()
    remaining = session.expires_at - now
    access, new_refresh, expires_in = tokens.issue(
        user.id, session_id, refresh_jti=new_jti, refresh_ttl=remaining
    )
    issued = Tokens(access, new_refresh, expires_in, int(remaining.total_seconds()))
    return LoggedIn(user, issued, session.persistent)  # remember-me outlives its refreshes


async def logout(*, token: str, db: Database, tokens: TokenService, clock: Clock) -> None:
    """Ends the session of an access or a refresh token: every token of it stops working."""
    try:
        _, session_id = tokens.read_access(token)
    except Unauthenticated:
        _, session_id, _ = tokens.read_refresh(token)
    async with db.unit_of_work() as uow:
        await uow.sessions.revoke(session_id, clock.now())
        await uow.commit()


async def authenticate(*, token: str, db: Database, tokens: TokenService, clock: Clock) -> User:
    user_id, session_id = tokens.read_access(token)
    async with db.unit_of_work(readonly=True) as uow:
        user = await uow.sessions.active_user(session_id, now=clock.now())
    if user is None or user.id != user_id:
        raise Unauthenticated("This session has ended. Please log in again.", code="session_ended")
    if user.disabled:
        raise Unauthenticated("This account is disabled.", code="account_disabled")
    return user
