"""Responsive images through the client: `srcset` (blocking and awaited) returns the typed set,
and minting or signing with client hints gives URLs the service sizes from the hints."""

from __future__ import annotations

from pathlib import Path

import pytest
import pyvips

from pixelpress.client import AsyncClient, InvalidRequestError, NotFoundError, UrlSigner
from pixelpress.client.models import Srcset
from tests.client.live import URL_KEY, Server
from tests.client.test_cli import Shell, shell, user
from tests.images import photo

pytestmark = pytest.mark.e2e
__all__ = ["shell", "user"]  # the command line's fixtures, for the last test


def test_srcset_returns_the_typed_set(server: Server) -> None:
    with server.signed_up() as pp:
        image_id = pp.upload(photo(900, 600)).image_id
        made = pp.srcset(
            image_id,
            {"filter": "grayscale"},
            widths=[300, 600],
            formats=["webp", "jpeg"],
            sizes="50vw",
            alt="a <b>",
            expires_in=600,
        )
        assert isinstance(made, Srcset)
        assert [(u.format, u.width, u.height) for u in made.urls] == [
            ("webp", 300, 200), ("webp", 600, 400), ("jpeg", 300, 200), ("jpeg", 600, 400),
        ]  # fmt: skip
        assert made.srcset["jpeg"] == f"{made.urls[2].url} 300w, {made.urls[3].url} 600w"
        assert made.sizes == "50vw" and made.expires_at is not None
        assert 'alt="a &lt;b&gt;"' in made.img and made.picture.endswith(f"{made.img}</picture>")
        fetched = pp.fetch(made.urls[1].url)
        assert fetched.media_type == "image/webp"
        assert pyvips.Image.new_from_buffer(fetched.content, "").width == 600
        by_options = pp.srcset(image_id, options="h_100,c_cover", widths=[100])
        assert [(u.width, u.height) for u in by_options.urls][-1] == (100, 100)
        with pytest.raises(InvalidRequestError) as refused:
            pp.srcset(image_id, {"resize": "300x"})
        assert refused.value.status == 422


async def test_srcset_awaited(server: Server) -> None:
    with server.signed_up() as first:
        image_id = first.upload(photo(500, 500)).image_id
        tokens = first.tokens
    async with AsyncClient(server.base, tokens=tokens) as pp:
        made = await pp.srcset(image_id, formats=["png"])
        assert {u.width for u in made.urls} == {320, 480}  # the defaults up to 500 px
        assert made.picture == f"<picture>{made.img}</picture>"
        with pytest.raises(NotFoundError):
            await pp.srcset("no-such-image")


def test_hinted_urls_minted_and_signed_alike(server: Server) -> None:
    signer = UrlSigner(URL_KEY, server.base)
    with server.signed_up() as pp:
        uploaded = pp.upload(photo(800, 600))
        image_id, version = uploaded.image_id, uploaded.image.content_hash
        spec = {"resize": {"width": 200}}
        minted = pp.mint_url(image_id, spec, auto_dpr=True, auto_width=True)
        assert minted.options == f"w_auto:200,dpr_auto,v_{version[:8]}"
        signed = signer.url(image_id, spec, auto_dpr=True, auto_width=True, version=version)
        assert signed == minted.url
        fetched = pp.fetch(minted.url)  # no hints: the fallback width
        assert pyvips.Image.new_from_buffer(fetched.content, "").width == 200


def test_the_srcset_command(shell: Shell, user: str, tmp_path: Path) -> None:
    (tmp_path / "p.jpg").write_bytes(photo(700, 350))
    image_id = shell.json("upload", str(tmp_path / "p.jpg"))[0]["imageId"]
    done = shell.run("srcset", image_id, "--widths", "200,400", "--formats", "webp,jpeg",
                     "--height", "100", "--fit", "cover", "--alt", "x")  # fmt: skip
    assert done.returncode == 0, done.stderr
    markup = done.stdout.strip()
    assert markup.startswith('<picture><source type="image/webp"') and 'alt="x"' in markup
    assert "w_200,h_100,c_cover" in markup and " 400w" in markup
    made = shell.json("srcset", image_id, "--widths", "300")
    assert [u["width"] for u in made["urls"]] == [300, 300, 300]
    assert shell.run("srcset", image_id, "--widths", "a,b").returncode != 0
