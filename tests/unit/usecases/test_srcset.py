"""Responsive sets in the use case: widths planned against the image (rotation included),
default widths and formats, and the headers of answers to URLs that read client hints."""

from __future__ import annotations

from pixelpress.domain.spec import Hint, OutputFormat, parse_spec
from pixelpress.usecases.signed_urls import (
    SignedRequest,
    UrlKeys,
    mint_url,
    read_signed,
)
from pixelpress.usecases.srcset import SetRequest, image_set
from tests.unit.usecases.conftest import World

KEYS = UrlKeys(("current key",))
NOW = 1_800_000_000.0


async def test_widths_are_the_planned_outputs(world: World) -> None:
    owner = await world.user()
    image = await world.image(owner, 800, 600)
    turned = SetRequest(parse_spec({"rotate": 90}), widths=[300, 400], formats=[OutputFormat.PNG])
    made = await image_set(
        image.id, turned, user=owner, db=world.db, limits=world.limits, keys=KEYS,
        base_url="http://x", now=NOW,
    )  # fmt: skip
    # turned a quarter: a 300 px wide resize is 225 px wide in the end
    assert [(c.width, c.height) for c in made.candidates] == [(225, 300), (300, 400)]
    assert made.formats == (OutputFormat.PNG,)
    assert 'width="300" height="400"' in made.img


async def test_defaults_follow_the_image(world: World) -> None:
    owner = await world.user()
    image = await world.image(owner, 700, 300)
    made = await image_set(
        image.id, SetRequest(None), user=owner, db=world.db, limits=world.limits, keys=KEYS,
        base_url="http://x", now=NOW,
    )  # fmt: skip
    assert image.format == "png"  # the fallback is the image's own format
    assert made.formats == (OutputFormat.AVIF, OutputFormat.WEBP, OutputFormat.PNG)
    assert sorted({c.width for c in made.candidates}) == [320, 480, 640]
    assert made.sizes == "100vw" and made.expires_at is None


def test_answers_name_what_they_read() -> None:
    plain = SignedRequest("i", None, auto_format=False, expires=None)
    assert plain.headers() == {}
    accept = SignedRequest("i", None, auto_format=True, expires=None)
    assert accept.headers() == {"Vary": "Accept"}
    both = SignedRequest("i", None, True, None, (Hint.WIDTH,))
    assert both.headers() == {
        "Vary": "Accept, Sec-CH-Width, Width",
        "Accept-CH": "Sec-CH-DPR, Sec-CH-Width, Width, DPR",
    }


async def test_read_signed_resolves_the_hints(world: World) -> None:
    owner = await world.user()
    image = await world.image(owner)

    minted = await mint_url(
        image.id, parse_spec({"resize": "100x50"}), user=owner, db=world.db,
        limits=world.limits, keys=KEYS, base_url="http://x", hints=(Hint.DPR,), now=NOW,
    )  # fmt: skip
    signature, options, image_id = minted.url.split("/i/", 1)[1].split("/")
    asked = read_signed(
        signature, options, image_id, headers={"dpr": "3", "sec-ch-dpr": "1.5"}, keys=KEYS,
        limits=world.limits, now=NOW,
    )  # fmt: skip
    assert asked.spec is not None and asked.spec.resize is not None
    assert (asked.spec.resize.width, asked.spec.resize.height) == (150, 75)  # Sec-CH- wins
    assert asked.hints == (Hint.DPR,)
