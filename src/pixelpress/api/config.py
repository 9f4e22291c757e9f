"""What the HTTP layer is told at start-up, built by the composition root from settings: routes
and middleware read this, never Settings (nor any secret key)."""

from __future__ import annotations

from dataclasses import dataclass, field

from pixelpress.domain.models import ImageLimits


@dataclass(frozen=True)
class Buckets:
    """Requests per minute: per user when signed in (and, beside it, per address at
    `address_factor` times the limit, so that many fresh accounts behind one address do not
    multiply its budget), per address otherwise."""

    default: int
    login: int
    upload: int
    transform: int
    render: int = 300
    """Signed-URL cache misses per address (renders cost the same however they are asked)."""
    address_factor: int = 2


@dataclass(frozen=True)
class ApiConfig:
    limits: ImageLimits
    """What an upload may be (its bytes are also the upload body's limit) and what a spec may
    ask for."""
    buckets: Buckets
    login_attempts_per_account: int = 5
    """Per minute, from any address (guessing one account's password)."""
    trusted_proxies: tuple[str, ...] = ()
    """Networks whose X-Forwarded-For names the caller's address."""
    public_url: str = ""
    """Base of the links we hand out; empty: the request's own base URL."""
    cookie_secure: bool = False
    metrics_token: str = field(default="", repr=False)
    """Empty: /metrics is public; else only `Authorization: Bearer <this>` reads it."""
