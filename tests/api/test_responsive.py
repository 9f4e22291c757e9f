"""Responsive delivery: `dpr_N`, `dpr_auto` and `w_auto` on signed URLs, the Accept-CH and
Vary headers of answers that read a hint, and one variant per resolved spec."""

from __future__ import annotations

import httpx
import pytest
import pyvips

from pixelpress.bootstrap import Services
from pixelpress.domain import signing
from tests.api.helpers import assert_error, register, upload
from tests.api.test_delivery import mint, renders
from tests.images import photo

ACCEPT_CH = "Sec-CH-DPR, Sec-CH-Width, Width, DPR"


def size(r: httpx.Response) -> tuple[int, int]:
    assert r.status_code == 200, r.text
    image = pyvips.Image.new_from_buffer(r.content, "")
    return image.width, image.height


async def owned_image(client: httpx.AsyncClient) -> tuple[dict[str, str], str]:
    headers = await register(client)
    # Under 1024 px: no rendition job, whose render would count among these tests' renders.
    image_id = (await upload(client, headers, photo(1000, 750))).json()["imageId"]
    return headers, image_id


async def test_dpr_multiplies_the_output_and_shares_the_variant_of_the_product(
    client: httpx.AsyncClient,
) -> None:
    headers, image_id = await owned_image(client)
    doubled = await mint(client, headers, image_id, transformations={"resize": "200x150", "dpr": 2})
    assert "w_400,h_300,c_cover" in doubled  # resolved when parsed: dpr leaves no trace
    first = await client.get(doubled)
    assert size(first) == (400, 300)
    assert "vary" not in first.headers and "accept-ch" not in first.headers
    path = f"w_200,h_150,dpr_2/{image_id}"
    same = await client.get(f"http://t/i/{signing.sign_url(secret(client), path)}/{path}")
    assert same.content == first.content and await renders(client) == 1


def secret(client: httpx.AsyncClient) -> str:
    """The first URL signing key of the app under test."""
    services: Services = client._transport.app.state.services  # type: ignore[attr-defined]
    return services.url_keys.keys[0]


async def test_dpr_auto_reads_the_hint_and_says_so(client: httpx.AsyncClient) -> None:
    headers, image_id = await owned_image(client)
    url = await mint(client, headers, image_id, transformations={"resize": "300x"}, autoDpr=True)
    assert url.split("/")[-2].startswith("w_300,dpr_auto,v_")
    plain = await client.get(url)
    assert size(plain) == (300, 225)  # no hint: dpr 1
    assert plain.headers["accept-ch"] == ACCEPT_CH
    assert plain.headers["vary"] == "Sec-CH-DPR, DPR"
    assert size(await client.get(url, headers={"Sec-CH-DPR": "2"})) == (600, 450)
    assert size(await client.get(url, headers={"DPR": "1.5"})) == (450, 338)  # the legacy name
    # the Sec-CH- header wins; an odd ratio rounds up to a half; past 4 is 4
    assert size(await client.get(url, headers={"Sec-CH-DPR": "2.7", "DPR": "1"})) == (900, 675)
    assert size(await client.get(url, headers={"Sec-CH-DPR": "10"})) == (1200, 900)
    assert size(await client.get(url, headers={"Sec-CH-DPR": "nonsense"})) == (300, 225)
    assert await renders(client) == 5  # 300, 600, 450, 900, 1200: a variant per resolved ratio
    again = await client.get(url, headers={"Sec-CH-DPR": "2"})
    assert again.headers["accept-ch"] == ACCEPT_CH
    not_modified = await client.get(
        url, headers={"Sec-CH-DPR": "2", "If-None-Match": again.headers["etag"]}
    )
    assert not_modified.status_code == 304
    assert not_modified.headers["vary"] == "Sec-CH-DPR, DPR"
    assert await renders(client) == 5


async def test_w_auto_rounds_the_width_hint_up_to_a_step(client: httpx.AsyncClient) -> None:
    headers, image_id = await owned_image(client)
    url = await mint(
        client,
        headers,
        image_id,
        transformations={"resize": {"width": 500}},
        autoWidth=True,
        autoFormat=True,
    )
    assert url.split("/")[-2].startswith("w_auto:500,f_auto,v_")
    fallback = await client.get(url)
    assert size(fallback) == (500, 375)
    assert fallback.headers["vary"] == "Accept, Sec-CH-Width, Width"
    assert fallback.headers["accept-ch"] == ACCEPT_CH
    for hint, width in [("375", 480), ("480", 480), ("700", 800), ("99999", 2560)]:
        assert size(await client.get(url, headers={"Sec-CH-Width": hint}))[0] == width
    assert size(await client.get(url, headers={"Width": "150"}))[0] == 200
    assert await renders(client) == 5  # 500, 480, 800, 2560, 200: 375 and 480 share one


async def test_w_auto_without_fallback_and_with_dpr(client: httpx.AsyncClient) -> None:
    headers, image_id = await owned_image(client)
    transformations = {"resize": {"height": 100}}
    url = await mint(
        client, headers, image_id, transformations=transformations, autoDpr=True, autoWidth=True
    )
    assert url.split("/")[-2].startswith("w_auto,h_100,dpr_auto,v_")  # both edges: cover
    assert size(await client.get(url)) == (1024, 100)
    # the width hint is physical pixels already; the height is CSS pixels, times the dpr
    answer = await client.get(url, headers={"Sec-CH-Width": "640", "Sec-CH-DPR": "2"})
    assert size(answer) == (640, 200)
    assert answer.headers["vary"] == "Sec-CH-DPR, DPR, Sec-CH-Width, Width"


@pytest.mark.parametrize(
    ("options", "status"),
    [("w_100,dpr_5", 422), ("w_100,dpr_abc", 400), ("dpr_2", 422), ("dpr_auto", 422),
     ("w_auto:0", 422), ("w_auto:x", 400)],
)  # fmt: skip
async def test_bad_responsive_options_are_4xx(
    client: httpx.AsyncClient, options: str, status: int
) -> None:
    _, image_id = await owned_image(client)
    path = f"{options}/{image_id}"
    assert_error(
        await client.get(f"http://t/i/{signing.sign_url(secret(client), path)}/{path}"), status
    )


async def test_minting_refuses_what_cannot_work(client: httpx.AsyncClient) -> None:
    headers, image_id = await owned_image(client)
    target = f"/api/v1/images/{image_id}/urls"
    for body, status in [
        ({"transformations": {"format": "webp"}, "autoDpr": True}, 422),
        ({"transformations": {"resize": "100x", "dpr": 9}}, 422),
        ({"transformations": {"resize": "100x", "dpr": "2"}}, 400),
        ({"autoDpr": "yes"}, 400),
    ]:
        assert_error(await client.post(target, json=body, headers=headers), status)
