"""Signed transformation URLs (`/i/{signature}/{options}/{imageId}[.ext]`, grammar in
`domain.spec.url`): minting one for an owner, and reading one that anybody fetches."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from pixelpress.domain import signing
from pixelpress.domain.errors import Forbidden
from pixelpress.domain.models import ImageLimits, User
from pixelpress.domain.spec import TransformSpec, UrlOptions, negotiate, parse_options, to_options
from pixelpress.ports import Database
from pixelpress.usecases.transforms import settle_spec


@dataclass(frozen=True)
class UrlKeys:
    """The keys of signed URLs: the first signs new ones, every one is accepted (so a key can
    be rotated in without breaking the URLs in the wild)."""

    keys: tuple[str, ...]


@dataclass(frozen=True)
class Minted:
    url: str
    options: str
    expires_at: int | None
    """Unix time, when the URL has an expiry."""


@dataclass(frozen=True)
class SignedRequest:
    image_id: str
    spec: TransformSpec | None
    """None: the original, upright and stripped."""
    auto_format: bool
    expires: int | None


async def mint_url(
    image_id: str,
    spec: TransformSpec | None,
    *,
    user: User,
    db: Database,
    limits: ImageLimits,
    keys: UrlKeys,
    base_url: str,
    auto_format: bool = False,
    expires_in: int | None = None,
    now: float,
) -> Minted:
    """A signed URL for `user`'s image, checked against it first (see `settle_spec`)."""
    spec = await settle_spec(image_id, spec, user=user, db=db, limits=limits)
    expires = int(now) + expires_in if expires_in else None
    options = to_options(spec.canonical() if spec else None, auto=auto_format, expires=expires)
    path = f"{options}/{image_id}"
    signature = signing.sign_url(keys.keys[0], path)
    return Minted(f"{base_url.rstrip('/')}/i/{signature}/{path}", options, expires)


def read_signed(
    signature: str,
    options: str,
    image: str,
    *,
    accept: str,
    keys: UrlKeys,
    limits: ImageLimits,
    now: float,
) -> SignedRequest:
    """What a fetched URL asks for; Forbidden when its signature is not one of ours, or it
    has expired."""
    if not signing.verify_url(list(keys.keys), f"{options}/{image}", signature):
        raise _bad_signature()
    image_id, _, ext = image.partition(".")
    negotiated = negotiate(accept) if "f_auto" in options else ""
    parsed = _options(options, ext, negotiated, limits)
    if parsed.expires is not None and parsed.expires < now:
        raise _bad_signature()
    return SignedRequest(image_id, parsed.spec, parsed.auto_format, parsed.expires)


@lru_cache(maxsize=4096)
def _options(options: str, ext: str, negotiated: str, limits: ImageLimits) -> UrlOptions:
    """Parsing is pure: a URL fetched again and again is parsed once."""
    return parse_options(options, ext=ext or None, accept=f"image/{negotiated}", limits=limits)


def _bad_signature() -> Forbidden:
    return Forbidden("This URL's signature is invalid or has expired.", code="invalid_signature")
