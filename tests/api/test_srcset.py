"""POST /images/{id}/srcset: signed URLs per width and format, srcset strings and markup."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from typing import Any

import httpx
import pyvips

from tests.api.helpers import assert_error, register, upload
from tests.images import MAGIC, photo


class Tags(HTMLParser):
    """The start tags of a piece of markup, with their (unescaped) attributes."""

    def __init__(self, markup: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.feed(markup)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


async def make_set(
    client: httpx.AsyncClient, name: str = "alice", **body: Any
) -> tuple[dict[str, Any], str]:
    headers = await register(client, name)
    image_id = (await upload(client, headers, photo(1000, 500))).json()["imageId"]
    r = await client.post(f"/api/v1/images/{image_id}/srcset", json=body, headers=headers)
    assert r.status_code == 200, r.text
    return r.json(), image_id


async def test_a_set_per_width_and_format_with_its_markup(client: httpx.AsyncClient) -> None:
    made, image_id = await make_set(
        client,
        widths=[640, 320],
        formats=["avif", "webp", "jpeg"],
        sizes="(max-width: 600px) 100vw, 50vw",
        alt='A "quoted" <caption> & more',
        transformations={"filter": "grayscale", "quality": 70},
    )
    urls = made["urls"]
    assert [(u["format"], u["width"], u["height"]) for u in urls] == [
        ("avif", 320, 160), ("avif", 640, 320), ("webp", 320, 160), ("webp", 640, 320),
        ("jpeg", 320, 160), ("jpeg", 640, 320),
    ]  # fmt: skip
    assert "e_grayscale" in urls[0]["url"] and urls[0]["url"].endswith(f"/{image_id}")
    for u in urls:  # every URL is signed and gives what it says
        r = await client.get(u["url"])
        assert r.status_code == 200
        assert MAGIC[u["format"]](r.content)
        assert pyvips.Image.new_from_buffer(r.content, "").width == u["width"]
    assert made["srcset"]["webp"] == f"{urls[2]['url']} 320w, {urls[3]['url']} 640w"
    assert made["expiresAt"] is None
    picture = Tags(made["picture"]).tags
    assert [t for t, _ in picture] == ["picture", "source", "source", "img"]
    assert picture[1][1] == {
        "type": "image/avif",
        "srcset": made["srcset"]["avif"],
        "sizes": "(max-width: 600px) 100vw, 50vw",
    }
    img = Tags(made["img"]).tags[0][1]
    assert img == picture[3][1]
    assert img["src"] == urls[-1]["url"]  # the widest fallback
    assert img["srcset"] == made["srcset"]["jpeg"]
    assert img["alt"] == 'A "quoted" <caption> & more'
    assert (img["width"], img["height"]) == ("640", "320")
    assert html.escape('"quoted" <caption> & more') in made["img"]  # escaped in the markup


async def test_defaults_fit_the_image_and_take_an_options_base(client: httpx.AsyncClient) -> None:
    made, _ = await make_set(client, options="h_200,c_cover,e_sepia", expiresIn=600)
    widths = sorted({u["width"] for u in made["urls"]})
    assert widths == [320, 480, 640, 800]  # the defaults up to the image's 1000 px
    assert [u["format"] for u in made["urls"]][::4] == ["avif", "webp", "jpeg"]
    assert {u["height"] for u in made["urls"]} == {200}
    assert all(re.search(r",exp_\d+/", u["url"]) for u in made["urls"])
    assert made["expiresAt"] is not None and made["sizes"] == "100vw"
    assert made["img"].startswith("<img ") and made["picture"].count("<source ") == 2
    narrow, _ = await make_set(client, "bob", options="cr_0:0:200:100")
    assert {u["width"] for u in narrow["urls"]} == {200}  # narrower than every default


async def test_the_base_format_alone_is_the_default(client: httpx.AsyncClient) -> None:
    made, _ = await make_set(client, widths=[100], transformations={"format": "png"})
    assert [u["format"] for u in made["urls"]] == ["png"]
    assert made["picture"] == f"<picture>{made['img']}</picture>"


BAD_SETS: list[tuple[dict[str, Any], int]] = [
    ({"widths": []}, 400),
    ({"widths": list(range(1, 18))}, 400),
    ({"widths": [0]}, 400),
    ({"widths": ["100"]}, 400),
    ({"formats": ["bmp"]}, 400),
    ({"formats": ["jpeg"] * 5}, 400),
    ({"sizes": ""}, 400),
    ({"sizes": "x" * 1001}, 400),
    ({"unknown": 1}, 400),
    ({"transformations": {"resize": "300x"}}, 422),
    ({"options": "w_300"}, 422),
    ({"options": "h_100,f_auto"}, 422),
    ({"options": "h_100,dpr_auto"}, 422),
    ({"options": "h_100,exp_1"}, 422),
    ({"options": "h_100", "transformations": {"format": "png"}}, 422),
    ({"options": "zz_1"}, 400),
    ({"options": "cr_0:0:5000:10"}, 422),
    ({"widths": [20000]}, 422),
]


async def test_bad_sets_are_refused(client: httpx.AsyncClient) -> None:
    headers = await register(client)
    image_id = (await upload(client, headers, photo(400, 300))).json()["imageId"]
    for body, status in BAD_SETS:
        r = await client.post(f"/api/v1/images/{image_id}/srcset", json=body, headers=headers)
        assert r.status_code == status, (body, r.text)
        assert_error(r, status)


async def test_only_the_owner_gets_a_set(client: httpx.AsyncClient) -> None:
    owner = await register(client)
    image_id = (await upload(client, owner)).json()["imageId"]
    other = await register(client, "bob")
    target = f"/api/v1/images/{image_id}/srcset"
    assert_error(await client.post(target, json={}, headers=other), 404, "image_not_found")
    assert_error(await client.post(target, json={}), 401)
    # a watermark image named by id must be the caller's own, in options as in JSON
    theirs = (await upload(client, other)).json()["imageId"]
    body = {"options": f"h_100,wi_{theirs}"}
    assert_error(await client.post(target, json=body, headers=owner), 422, "watermark_not_found")


async def test_the_set_and_the_hints_are_documented(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    route = paths["/api/v1/images/{image_id}/srcset"]["post"]
    assert {"200", "400", "401", "404", "422"} <= set(route["responses"])
    out = route["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert out.endswith("/SrcsetOut")
    signed = paths["/i/{signature}/{options}/{image}"]["get"]
    headers = {p["name"] for p in signed["parameters"] if p["in"] == "header"}
    assert {"Sec-CH-DPR", "DPR", "Sec-CH-Width", "Width"} <= headers
    assert "dpr_auto" in signed["description"] and "Accept-CH" in signed["description"]
    mint = paths["/api/v1/images/{image_id}/urls"]["post"]["requestBody"]["content"]
    assert mint["application/json"]["schema"]["$ref"].endswith("/MintIn")
