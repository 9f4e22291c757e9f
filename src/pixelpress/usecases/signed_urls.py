"""Signed transformation URLs (`/i/{signature}/{options}/{imageId}[.ext]`, grammar in
`domain.spec.url`): minting one for an owner, and reading one that anybody fetches."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from pixelpress.domain import signing
from pixelpress.domain.errors import Forbidden, Unprocessable
from pixelpress.domain.models import ImageLimits, User
from pixelpress.domain.presets import UNSIGNED
from pixelpress.domain.spec import (
    ACCEPT_CH,
    Hint,
    TransformSpec,
    UrlOptions,
    hinted_dpr,
    hinted_width,
    negotiate,
    parse_options,
    to_options,
    vary_headers,
)
from pixelpress.domain.spec.url import content_version, preset_names
from pixelpress.ports import Cache, Database
from pixelpress.usecases.delivery import Deliverer
from pixelpress.usecases.preset_expansion import (
    check_unsigned,
    expand,
    owner_of,
    settle_options,
    with_preset,
)
from pixelpress.usecases.transforms import settle_for


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
    hints: tuple[Hint, ...] = ()
    """The client hints the answer depends on (besides Accept, with `auto_format`)."""
    presets: tuple[str, ...] = ()
    """The ids of the presets the URL named (`t_`)."""

    def headers(self) -> dict[str, str]:
        """`Vary` naming every request header the answer depends on, and `Accept-CH` asking
        for the hints when it reads any."""
        vary = ("Accept",) * self.auto_format + vary_headers(self.hints)
        headers = {"Vary": ", ".join(vary)} if vary else {}
        if self.hints:
            headers["Accept-CH"] = ACCEPT_CH
        return headers


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
    hints: tuple[Hint, ...] = (),
    expires_in: int | None = None,
    now: float,
    preset: str | None = None,
    cache: Cache | None = None,
) -> Minted:
    """A signed URL for `user`'s image, checked against it first (see `settle_spec`).
    `hints`: the URL reads them (`dpr_auto`; `w_auto`, the spec's width as its fallback).
    With `preset` (found through `cache`), the URL names it, and `spec` overrides it."""
    image, spec = await settle_for(image_id, spec, user=user, db=db, limits=limits)
    expires = int(now) + expires_in if expires_in else None
    options = to_options(
        spec.canonical() if spec else None,
        auto=auto_format,
        expires=expires,
        auto_dpr=Hint.DPR in hints,
        auto_width=Hint.WIDTH in hints,
        version=content_version(image.content_hash),
    )
    if preset is not None:
        if cache is None:
            raise TypeError("Minting with a preset needs the cache its lookup goes through.")
        if hints:  # they would size the overrides alone, not the preset's expansion
            raise Unprocessable(
                "With a preset, client hints belong in the preset (dpr_auto, w_auto).",
                code="invalid_options",
                field="preset",
            )
        options = with_preset(preset, options)
        await settle_options(image_id, options, user=user, db=db, cache=cache, limits=limits)
    return sign(image_id, options, expires, keys=keys, base_url=base_url)


def sign(
    image_id: str, options: str, expires: int | None, *, keys: UrlKeys, base_url: str
) -> Minted:
    """The signed URL of `options` (checked by the caller) for `image_id`."""
    path = f"{options}/{image_id}"
    signature = signing.sign_url(keys.keys[0], path)
    return Minted(f"{base_url.rstrip('/')}/i/{signature}/{path}", options, expires)


def read_signed(
    signature: str,
    options: str,
    image: str,
    *,
    accept: str = "",
    headers: Mapping[str, str] | None = None,
    keys: UrlKeys,
    limits: ImageLimits,
    now: float,
) -> SignedRequest:
    """What a fetched URL naming no preset asks for, with the request's `headers` (lower-case
    names; or just `accept`) resolved into its spec: Accept for f_auto, the client hints for
    dpr_auto and w_auto. Forbidden when its signature is not one of ours, or it has expired."""
    if not signing.verify_url(list(keys.keys), f"{options}/{image}", signature):
        raise _bad_signature()
    given = headers if headers is not None else {"accept": accept}
    return _read(options, image, given, limits, now)


def needs_lookup(signature: str, options: str) -> bool:
    """Whether reading a URL looks anything up: it names presets, or it has no signature."""
    return signature == UNSIGNED or bool(preset_names(options))


async def read_url(
    signature: str,
    options: str,
    image: str,
    *,
    headers: Mapping[str, str],
    keys: UrlKeys,
    limits: ImageLimits,
    now: float,
    d: Deliverer,
) -> SignedRequest:
    """`read_signed`, for any URL: one that names presets has them expanded for the image's
    owner; one without a signature (`-`) may name only public presets."""
    if not needs_lookup(signature, options):
        return read_signed(
            signature, options, image, headers=headers, keys=keys, limits=limits, now=now
        )
    unsigned = signature == UNSIGNED
    if unsigned:
        check_unsigned(options)  # before anything is looked up
    elif not signing.verify_url(list(keys.keys), f"{options}/{image}", signature):
        raise _bad_signature()
    owner_id = await owner_of(image.partition(".")[0], d)
    expanded = await expand(owner_id, options, db=d.db, cache=d.cache, unsigned=unsigned)
    return _read(expanded.options, image, headers, limits, now, expanded.presets)


def _read(
    options: str,
    image: str,
    given: Mapping[str, str],
    limits: ImageLimits,
    now: float,
    presets: tuple[str, ...] = (),
) -> SignedRequest:
    image_id, _, ext = image.partition(".")
    negotiated = negotiate(given.get("accept", "")) if "f_auto" in options else ""
    # Quantised before the parse cache: its keys stay as few as the variants.
    dpr = hinted_dpr(_hint(given, Hint.DPR)) if "dpr_auto" in options else None
    width = hinted_width(_hint(given, Hint.WIDTH)) if "w_auto" in options else None
    parsed = _options(options, ext, negotiated, limits, dpr, width)
    if parsed.expires is not None and parsed.expires < now:
        raise _bad_signature()
    return SignedRequest(
        image_id, parsed.spec, parsed.auto_format, parsed.expires, parsed.hints, presets
    )


def _hint(headers: Mapping[str, str], hint: Hint) -> str:
    """The hint's `Sec-CH-` header when sent, else its legacy one."""
    for name in hint.headers:
        if value := headers.get(name.lower()):
            return value
    return ""


@lru_cache(maxsize=4096)
def _options(
    options: str,
    ext: str,
    negotiated: str,
    limits: ImageLimits,
    dpr: float | None,
    width: int | None,
) -> UrlOptions:
    """Parsing is pure: a URL fetched again and again is parsed once."""
    return parse_options(
        options,
        ext=ext or None,
        accept=f"image/{negotiated}",
        limits=limits,
        dpr=dpr,
        width=width,
    )


def _bad_signature() -> Forbidden:
    return Forbidden("This URL's signature is invalid or has expired.", code="invalid_signature")


IMMUTABLE = "public, max-age=31536000, immutable"
PRESET_MAX_AGE = 3600
"""Seconds an answer to a URL naming presets may be kept (less when the URL expires first)."""


def cache_control(asked: SignedRequest, now: float) -> str:
    """What the answer to a URL may be kept for: for good (its variant never changes), until
    it expires, and at most an hour when it names presets (an edit changes what it gives)."""
    left = None if asked.expires is None else max(0, int(asked.expires - now))
    if asked.presets:
        return f"public, max-age={min(PRESET_MAX_AGE, PRESET_MAX_AGE if left is None else left)}"
    return IMMUTABLE if left is None else f"public, max-age={left}"
