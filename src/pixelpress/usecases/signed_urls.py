"""Signed transformation URLs (`/i/{signature}/{options}/{imageId}[.ext]`, grammar in
`domain.spec.url`): minting one for an owner, and reading one that anybody fetches."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from pixelpress.domain import signing
from pixelpress.domain.errors import Forbidden
from pixelpress.domain.models import ImageLimits, User
from pixelpress.domain.presets import UNSIGNED
from pixelpress.domain.spec import TransformSpec, UrlOptions, negotiate, parse_options, to_options
from pixelpress.domain.spec.url import preset_names
from pixelpress.ports import Cache, Database
from pixelpress.usecases.delivery import Deliverer
from pixelpress.usecases.preset_expansion import check_unsigned, expand, owner_of, preset_spec
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
    presets: tuple[str, ...] = ()
    """The ids of the presets the URL named (`t_`)."""


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
    preset: str | None = None,
    cache: Cache | None = None,
) -> Minted:
    """A signed URL for `user`'s image, checked against it first (see `settle_spec`). With
    `preset` (found through `cache`), the URL names it, and `spec` overrides its options."""
    expires = int(now) + expires_in if expires_in else None
    if preset is not None:
        if cache is None:
            raise TypeError("Minting with a preset needs the cache its lookup goes through.")
        options, _ = await preset_spec(
            image_id, preset, spec, user=user, db=db, cache=cache, limits=limits,
            auto=auto_format, expires=expires,
        )  # fmt: skip
    else:
        spec = await settle_spec(image_id, spec, user=user, db=db, limits=limits)
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
    """What a fetched URL naming no preset asks for; Forbidden when its signature is not one
    of ours, or it has expired."""
    if not signing.verify_url(list(keys.keys), f"{options}/{image}", signature):
        raise _bad_signature()
    return _read(options, image, accept, limits, now)


async def read_url(
    signature: str,
    options: str,
    image: str,
    *,
    accept: str,
    keys: UrlKeys,
    limits: ImageLimits,
    now: float,
    d: Deliverer,
) -> SignedRequest:
    """`read_signed`, for any URL: one that names presets has them expanded for the image's
    owner; one without a signature (`-`) may name only public presets."""
    unsigned = signature == UNSIGNED
    if not unsigned and not preset_names(options):
        return read_signed(
            signature, options, image, accept=accept, keys=keys, limits=limits, now=now
        )
    if unsigned:
        check_unsigned(options)  # before anything is looked up
    elif not signing.verify_url(list(keys.keys), f"{options}/{image}", signature):
        raise _bad_signature()
    owner_id = await owner_of(image.partition(".")[0], d)
    expanded = await expand(owner_id, options, db=d.db, cache=d.cache, unsigned=unsigned)
    return _read(expanded.options, image, accept, limits, now, expanded.presets)


def _read(
    options: str,
    image: str,
    accept: str,
    limits: ImageLimits,
    now: float,
    presets: tuple[str, ...] = (),
) -> SignedRequest:
    image_id, _, ext = image.partition(".")
    negotiated = negotiate(accept) if "f_auto" in options else ""
    parsed = _options(options, ext, negotiated, limits)
    if parsed.expires is not None and parsed.expires < now:
        raise _bad_signature()
    return SignedRequest(image_id, parsed.spec, parsed.auto_format, parsed.expires, presets)


@lru_cache(maxsize=4096)
def _options(options: str, ext: str, negotiated: str, limits: ImageLimits) -> UrlOptions:
    """Parsing is pure: a URL fetched again and again is parsed once."""
    return parse_options(options, ext=ext or None, accept=f"image/{negotiated}", limits=limits)


def _bad_signature() -> Forbidden:
    return Forbidden("This URL's signature is invalid or has expired.", code="invalid_signature")
