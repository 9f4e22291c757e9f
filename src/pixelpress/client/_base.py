"""What the sync and the async client share besides their operations: settings and tokens."""

from __future__ import annotations

from collections.abc import Callable
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any, Generic, TypeVar

from pixelpress import __version__
from pixelpress.client._account import AccountEndpoints
from pixelpress.client._images import ImageEndpoints
from pixelpress.client._presets import PresetEndpoints
from pixelpress.client._program import Core, RetryPolicy, Tokens

DEFAULT_URL = "http://127.0.0.1:8000"
TransportT = TypeVar("TransportT")


class ClientBase(AccountEndpoints, ImageEndpoints, PresetEndpoints, Generic[TransportT]):
    def __init__(
        self,
        base_url: str = DEFAULT_URL,
        *,
        token: str | None = None,
        tokens: Tokens | None = None,
        on_tokens: Callable[[Tokens | None], None] | None = None,
        timeout: float = 30.0,
        max_retries: int = 3,
        max_retry_wait: float = 60.0,
        transport: TransportT | None = None,
    ) -> None:
        """`base_url`: where the service answers (its `/api/v1` may be included or not).
        Authenticate with `login`/`register`, or give an access `token` (used as it is), or
        `tokens` kept from an earlier session (renewed when they expire; `on_tokens` is told
        each new pair, and None after logout, so they can be stored). 429 and 503 answers are
        retried after their Retry-After, at most `max_retries` times and `max_retry_wait`
        seconds of waiting in all (0 turns retrying off). `timeout`: seconds per network step.
        `transport`: an httpx transport of your own (a proxy, mounts, a test double)."""
        if tokens is None and token is not None:
            tokens = Tokens(token)
        self._core = Core(
            base_url,
            tokens=tokens,
            on_tokens=on_tokens,
            retry=RetryPolicy(max_retries=max_retries, max_wait=max_retry_wait),
        )
        self._open(
            transport,
            {
                "timeout": timeout,
                # Bearer tokens only: cookies would make requests cookie-authenticated, which
                # needs CSRF headers, and would outlive `logout` in the jar.
                "cookies": CookieJar(policy=DefaultCookiePolicy(allowed_domains=[])),
                "headers": {"User-Agent": f"pixelpress-client/{__version__}"},
            },
        )

    def _open(self, transport: TransportT | None, options: dict[str, Any]) -> None:
        """Makes the httpx client (sync or async) the driver sends with."""
        raise NotImplementedError

    @property
    def base_url(self) -> str:
        return self._core.base_url

    @property
    def tokens(self) -> Tokens | None:
        """The tokens the client authenticates with (None when signed out)."""
        return self._core.tokens

    @tokens.setter
    def tokens(self, tokens: Tokens | None) -> None:
        self._core.tokens = tokens
