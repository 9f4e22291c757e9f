"""Signing `/i/` delivery URLs locally, as imgproxy's signing libraries do: with one of the
service's URL signing keys (`PIXELPRESS_URL_SIGNING_KEYS`), an application makes URLs for its
pages without a request to the service per URL.

It reads the spec with the service's own grammar and writes it with the service's own options
writer (`pixelpress.domain`, standard library only), so a URL signed here is byte for byte the
one `POST /images/{id}/urls` mints for the same spec and expiry."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pixelpress.client.errors import InvalidRequestError
from pixelpress.domain import signing
from pixelpress.domain.errors import DomainError, Unprocessable
from pixelpress.domain.spec import parse_spec
from pixelpress.domain.spec.url import content_version, to_options


class UrlSigner:
    """`UrlSigner(key, "https://img.example.com").url(image_id, {"resize": "400x"})`.

    Unlike minting, nothing is checked against the image (a crop outside it answers 422 when
    the URL is fetched), and a watermark image must be named by its id, not its filename."""

    def __init__(self, key: str, base_url: str = "http://127.0.0.1:8000") -> None:
        if not key:
            raise ValueError("A URL signing key is required.")
        self._key = key
        self.base_url = base_url.rstrip("/")

    def options(
        self,
        transformations: Mapping[str, Any] | None = None,
        *,
        auto_format: bool = False,
        expires_at: int | datetime | None = None,
        auto_dpr: bool = False,
        auto_width: bool = False,
        version: str | None = None,
    ) -> str:
        """The options segment (`w_400,q_80,f_auto`) of a spec in any JSON form the API takes;
        `auto_dpr`, `auto_width`: `dpr_auto`, `w_auto` (the spec's width as the fallback);
        `version`: the image's `content_hash` (`v_`, as minted URLs carry it, so that a
        replaced image gets new URLs)."""
        try:
            spec = parse_spec(dict(transformations)) if transformations else None
            if spec is not None and spec.watermark_ref is not None:
                spec = spec.with_watermark_image(spec.watermark_ref)
            expires = (
                int(expires_at.timestamp()) if isinstance(expires_at, datetime) else expires_at
            )
            return to_options(
                spec.canonical() if spec else None,
                auto=auto_format,
                expires=expires,
                auto_dpr=auto_dpr,
                auto_width=auto_width,
                version=content_version(version) if version else None,
            )
        except DomainError as exc:
            raise InvalidRequestError(
                exc.message,
                status=422 if isinstance(exc, Unprocessable) else 400,
                code=exc.code,
                details=exc.details,
            ) from exc

    def url(
        self,
        image_id: str,
        transformations: Mapping[str, Any] | None = None,
        *,
        auto_format: bool = False,
        expires_at: int | datetime | None = None,
        auto_dpr: bool = False,
        auto_width: bool = False,
        version: str | None = None,
    ) -> str:
        """The signed URL of `image_id` rendered by `transformations`; `auto_format`: the
        best format each browser takes; `expires_at`: when it stops working (unix time);
        `auto_dpr`, `auto_width`: sized from the browser's client hints; `version`: the
        image's `content_hash`."""
        options = self.options(
            transformations,
            auto_format=auto_format,
            expires_at=expires_at,
            auto_dpr=auto_dpr,
            auto_width=auto_width,
            version=version,
        )
        signed = f"{options}/{image_id}"
        return f"{self.base_url}/i/{signing.sign_url(self._key, signed)}/{signed}"
