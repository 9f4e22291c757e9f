"""Refresh tokens rotate: each works once, and a spent one coming back (someone kept a copy)
ends its whole family, while the user's other sessions go on."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import anyio
import pytest

from pixelpress.adapters.passwords_pwdlib import PwdlibPasswordHasher
from pixelpress.adapters.tokens_jwt import JwtTokenService
from pixelpress.domain.errors import Unauthenticated
from pixelpress.domain.models import User
from pixelpress.usecases import accounts
from pixelpress.usecases.accounts import LoggedIn, SessionTtl
from tests.unit.usecases.conftest import World

PASSWORD = "correct horse battery"
TTL = SessionTtl(normal=timedelta(days=30), remember_me=timedelta(days=90))


@dataclass(frozen=True)
class Accounts:
    """The account use cases on `world`, with the real hasher and token service."""

    world: World
    hasher: PwdlibPasswordHasher
    tokens: JwtTokenService
    ttl: SessionTtl = TTL

    def _deps(self) -> dict[str, Any]:
        return {"db": self.world.db, "tokens": self.tokens, "clock": self.world.clock}

    async def register(self, name: str) -> LoggedIn:
        return await accounts.register(
            username=name,
            email=f"{name}@example.com",
            password=PASSWORD,
            hasher=self.hasher,
            ttl=self.ttl,
            **self._deps(),
        )

    async def login(self, name: str, *, remember_me: bool = False) -> LoggedIn:
        return await accounts.login(
            login=name,
            password=PASSWORD,
            remember_me=remember_me,
            hasher=self.hasher,
            ttl=self.ttl,
            **self._deps(),
        )

    async def refresh(self, token: str) -> LoggedIn:
        return await accounts.refresh(refresh_token=token, **self._deps())

    async def authenticate(self, token: str) -> User:
        return await accounts.authenticate(token=token, **self._deps())

    async def refused(self, token: str, *, refresh: bool) -> str:
        """The code a refresh (or an authentication) with `token` is refused with."""
        with pytest.raises(Unauthenticated) as caught:
            await (self.refresh(token) if refresh else self.authenticate(token))
        return caught.value.code


@pytest.fixture
def the(world: World) -> Accounts:
    tokens = JwtTokenService(
        "use-case-test-secret-long-enough-for-hs256",
        world.clock,
        issuer="pixelpress",
        audience="pixelpress",
        access_ttl=timedelta(minutes=15),
        refresh_ttl=timedelta(days=30),
    )
    return Accounts(world, PwdlibPasswordHasher(anyio.CapacityLimiter(2)), tokens)


async def test_a_spent_refresh_token_ends_its_family_and_nothing_else(
    the: Accounts, world: World
) -> None:
    first = await the.register("alice")
    elsewhere = await the.login("alice")  # another device: another family
    renewed = await the.refresh(first.tokens.refresh_token)
    assert renewed.user.id == first.user.id
    newest = await the.refresh(renewed.tokens.refresh_token)  # each new one works, once

    world.clock.advance(30)
    assert await the.refused(first.tokens.refresh_token, refresh=True) == "refresh_token_reused"
    _, session_id, _ = the.tokens.read_refresh(first.tokens.refresh_token)
    async with world.db.unit_of_work(readonly=True) as uow:
        ended = await uow.sessions.get(session_id)
    assert ended is not None and ended.revoked_at == world.clock.now()
    # every token of that family is dead, the newest included
    assert await the.refused(newest.tokens.refresh_token, refresh=True) == "invalid_token"
    for access in (first, renewed, newest):
        assert await the.refused(access.tokens.access_token, refresh=False) == "session_ended"
    # the other device's session goes on
    assert (await the.authenticate(elsewhere.tokens.access_token)).id == first.user.id
    assert (await the.refresh(elsewhere.tokens.refresh_token)).user.id == first.user.id


async def test_refresh_keeps_remember_me_and_the_session_s_end(the: Accounts, world: World) -> None:
    await the.register("bob")
    remembered = await the.login("bob", remember_me=True)
    world.clock.advance(60)
    again = await the.refresh(remembered.tokens.refresh_token)
    assert again.remember_me
    # the family ends when its session does: a refresh does not extend it
    assert again.tokens.refresh_expires_in == remembered.tokens.refresh_expires_in - 60
