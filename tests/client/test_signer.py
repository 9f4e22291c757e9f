"""`UrlSigner`: URLs signed locally are byte for byte the ones the service mints, and the
service serves them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import pyvips

from pixelpress.client import Client, InvalidRequestError, PermissionDeniedError, UrlSigner
from tests.client.live import URL_KEY, Server
from tests.images import photo

pytestmark = pytest.mark.e2e

SPECS = [
    None,
    {"resize": "400x"},
    {"transformations": {"resize": {"width": 300, "height": 200, "fit": "cover",
                                    "gravity": "north_east"}, "quality": 70}},
    {"crop": {"x": 10, "y": 20, "width": 300, "height": 200}, "rotate": 450, "flip": True,
     "mirror": True, "format": "png"},
    {"filter": ["sepia", "blur:3"], "filters": {"sharpen": True}, "compress": True,
     "format": "webp"},
    {"watermark": {"text": "© me, ünïcode & <b>", "position": "top-left", "opacity": 0.3},
     "resize": "x240"},
]  # fmt: skip


@pytest.mark.parametrize("auto", [False, True])
def test_local_urls_match_minted_ones_and_are_served(server: Server, auto: bool) -> None:
    signer = UrlSigner(URL_KEY, server.base)
    with server.signed_up() as pp:
        uploaded = pp.upload(photo(800, 600))
        image_id, version = uploaded.image_id, uploaded.image.content_hash
        for spec in SPECS:
            minted = pp.mint_url(image_id, spec, auto_format=auto)
            assert signer.url(image_id, spec, auto_format=auto, version=version) == minted.url
            assert signer.options(spec, auto_format=auto, version=version) == minted.options
        expiring = pp.mint_url(image_id, {"resize": "100x"}, expires_in=3600)
        assert expiring.expires_at is not None
        assert signer.url(
            image_id, {"resize": "100x"}, expires_at=expiring.expires_at, version=version
        ) == (expiring.url)
        served = pp.fetch(signer.url(image_id, SPECS[3], auto_format=auto))
        assert pyvips.Image.new_from_buffer(served.content, "").width == 200


def test_an_image_watermark_by_id(server: Server) -> None:
    signer = UrlSigner(URL_KEY, server.base)
    with server.signed_up() as pp:
        uploaded = pp.upload(photo(600, 400))
        image_id, version = uploaded.image_id, uploaded.image.content_hash
        logo = pp.upload(photo(100, 100), filename="logo.png").image_id
        spec = {"watermark": {"image": logo, "position": "center", "opacity": 0.8}}
        assert signer.url(image_id, spec, version=version) == pp.mint_url(image_id, spec).url
        # minting resolves a filename to the id; the signer takes the id only
        assert (
            signer.url(image_id, {"watermark": logo}, version=version)
            == pp.mint_url(image_id, {"watermark": "logo.png"}).url
        )
        assert pp.fetch(signer.url(image_id, spec)).media_type == "image/jpeg"


def test_wrong_keys_and_expired_urls_are_refused(server: Server) -> None:
    with server.signed_up() as pp:
        image_id = pp.upload(photo(200, 200)).image_id
        for url in (
            UrlSigner("not-the-key", server.base).url(image_id, {"resize": "50x"}),
            UrlSigner(URL_KEY, server.base).url(
                image_id, {"resize": "50x"}, expires_at=datetime(2020, 1, 1, tzinfo=UTC)
            ),
        ):
            with Client(server.base) as anonymous, pytest.raises(PermissionDeniedError) as refused:
                anonymous.fetch(url)
            assert refused.value.code == "invalid_signature"


def test_specs_are_checked_locally() -> None:
    signer = UrlSigner("key")
    with pytest.raises(InvalidRequestError) as unknown:
        signer.url("img", {"resize": "400x", "explode": True})
    assert (unknown.value.status, unknown.value.code) == (400, "invalid_spec")
    with pytest.raises(InvalidRequestError) as senseless:
        signer.url("img", {"quality": 101})
    assert senseless.value.status == 422
    with pytest.raises(ValueError, match="key"):
        UrlSigner("")
