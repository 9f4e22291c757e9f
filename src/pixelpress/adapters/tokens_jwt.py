"""TokenService over PyJWT, HS256 only, with issuer, audience, type and id checked."""

from __future__ import annotations

import secrets
from datetime import timedelta

import jwt

from pixelpress.domain.errors import Unauthenticated
from pixelpress.ports import Clock

ALGORITHM = "HS256"


class JwtTokenService:
    def __init__(
        self,
        secret: str,
        clock: Clock,
        *,
        issuer: str,
        audience: str,
        access_ttl: timedelta,
        refresh_ttl: timedelta,
    ) -> None:
        self._secret = secret
        self._clock = clock
        self._issuer = issuer
        self._audience = audience
        self.access_ttl = access_ttl
        self.refresh_ttl = refresh_ttl

    def _encode(self, typ: str, user_id: str, session_id: str, jti: str, ttl: timedelta) -> str:
        now = self._clock.now()
        claims = {
            "sub": user_id,
            "sid": session_id,
            "typ": typ,
            "jti": jti,
            "iss": self._issuer,
            "aud": self._audience,
            "iat": int(now.timestamp()),
            "exp": int((now + ttl).timestamp()),
        }
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM)

    def issue(
        self,
        user_id: str,
        session_id: str,
        *,
        refresh_jti: str,
        refresh_ttl: timedelta | None = None,
    ) -> tuple[str, str, int]:
        access = self._encode("access", user_id, session_id, secrets.token_hex(16), self.access_ttl)
        refresh = self._encode(
            "refresh", user_id, session_id, refresh_jti, refresh_ttl or self.refresh_ttl
        )
        return access, refresh, int(self.access_ttl.total_seconds())

    def _decode(self, token: str, typ: str) -> dict[str, str]:
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                audience=self._audience,
                issuer=self._issuer,
                options={"require": ["exp", "iat", "sub", "sid", "jti", "typ", "iss", "aud"]},
                # PyJWT checks exp against the wall clock; our clock is checked too below.
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthenticated("The token has expired.", code="token_expired") from exc
        except jwt.PyJWTError as exc:
            raise Unauthenticated("The token is not valid.", code="invalid_token") from exc
        if claims.get("typ") != typ:
            raise Unauthenticated(f"A {typ} token is required here.", code="wrong_token_type")
        if claims["exp"] <= self._clock.now().timestamp():
            raise Unauthenticated("The token has expired.", code="token_expired")
        return claims

    def read_access(self, token: str) -> tuple[str, str]:
        claims = self._decode(token, "access")
        return claims["sub"], claims["sid"]

    def read_refresh(self, token: str) -> tuple[str, str, str]:
        claims = self._decode(token, "refresh")
        return claims["sub"], claims["sid"], claims["jti"]
