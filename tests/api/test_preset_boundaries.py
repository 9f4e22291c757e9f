"""Where presets meet the rest, at their edges: a preset's name is only ever a name, unsigned URLs
open only what the image's owner published, expiring and hinted URLs keep their promises, and
every URL minted for an image follows its bytes."""

from __future__ import annotations

import httpx
import pyvips

from pixelpress.bootstrap import Services
from tests.api.helpers import assert_error, drain, register, upload
from tests.api.test_admin_logs import make_admin
from tests.api.test_delivery import mint
from tests.images import photo


async def define(client: httpx.AsyncClient, headers: dict[str, str], **preset: object) -> None:
    made = await client.post("/api/v1/presets", json=preset, headers=headers)
    assert made.status_code == 201, made.text


async def test_a_preset_name_never_carries_options(
    client: httpx.AsyncClient, services: Services
) -> None:
    """Options after a comma in a name would be taken as checked (a watermark image of
    somebody else's, here): every door that takes a name refuses one that is not a name."""
    alice, bob = await register(client, "alice"), await register(client, "bob")
    red = (await upload(client, alice, photo(40, 40))).json()["imageId"]
    mine = (await upload(client, bob, photo(300, 200))).json()["imageId"]
    await define(client, bob, name="p", options="w_100")
    forged = f"p,wi_{red},wo_1,wp_center"
    job = await client.post(
        f"/api/v1/images/{mine}/transform", json={"preset": forged}, headers=bob
    )
    assert_error(job, 400, "invalid_preset_name")
    url = await client.post(f"/api/v1/images/{mine}/urls", json={"preset": "p,wo_1"}, headers=bob)
    assert url.status_code in (400, 422), url.text
    render = await client.get(f"/api/v1/images/{mine}/render?preset={forged}", headers=bob)
    assert_error(render, 400, "invalid_preset_name")
    await drain(services)


async def test_unsigned_urls_name_only_the_owner_s_own_public_presets(
    client: httpx.AsyncClient, services: Services
) -> None:
    carol = await register(client, "carol")
    root = await make_admin(client, services, "root")
    image_id = (await upload(client, carol, photo(400, 300))).json()["imageId"]
    await define(client, root, name="big", options="w_300", public=True, **{"global": True})
    assert_error(await client.get(f"/i/-/t_big/{image_id}"), 404, "preset_not_found")
    signed = await client.post(
        f"/api/v1/images/{image_id}/urls", json={"preset": "big"}, headers=carol
    )
    assert (await client.get(signed.json()["url"])).status_code == 200  # hers to sign
    await define(client, carol, name="small", options="w_80", public=True)
    published = await client.get(f"/i/-/t_small,v_2/{image_id}")
    assert pyvips.Image.new_from_buffer(published.content, "").width == 80


async def test_expiring_preset_urls_are_kept_no_longer_than_they_work(
    client: httpx.AsyncClient,
) -> None:
    alice = await register(client)
    image_id = (await upload(client, alice, photo(400, 300))).json()["imageId"]
    await define(client, alice, name="thumb", options="w_100")
    body = {"preset": "thumb", "expiresIn": 5}
    url = (await client.post(f"/api/v1/images/{image_id}/urls", json=body, headers=alice)).json()
    answer = await client.get(url["url"])
    assert answer.status_code == 200
    max_age = int(answer.headers["cache-control"].rsplit("=", 1)[1])
    assert 0 <= max_age <= 5
    hinted = {"preset": "thumb", "autoDpr": True}
    refused = await client.post(f"/api/v1/images/{image_id}/urls", json=hinted, headers=alice)
    assert_error(refused, 422, "invalid_options")


async def test_a_url_s_own_width_overrides_a_preset_s_w_auto(client: httpx.AsyncClient) -> None:
    alice = await register(client)
    image_id = (await upload(client, alice, photo(800, 600))).json()["imageId"]
    await define(client, alice, name="resp", options="w_auto:640")
    body = {"preset": "resp", "transformations": {"resize": {"width": 300}}}
    url = (await client.post(f"/api/v1/images/{image_id}/urls", json=body, headers=alice)).json()
    served = await client.get(url["url"], headers={"Sec-CH-Width": "1000"})
    assert pyvips.Image.new_from_buffer(served.content, "").width == 300


async def test_an_absurd_width_hint_is_the_largest_step_not_an_error(
    client: httpx.AsyncClient,
) -> None:
    alice = await register(client)
    image_id = (await upload(client, alice, photo(800, 600))).json()["imageId"]
    url = await mint(client, alice, image_id, transformations={"resize": "200x"}, autoWidth=True)
    for hint in ("9" * 5000, "-" + "9" * 5000):
        answer = await client.get(url, headers={"Sec-CH-Width": hint})
        assert answer.status_code == 200, answer.text


async def test_srcset_urls_follow_the_image_s_bytes(client: httpx.AsyncClient) -> None:
    alice = await register(client)
    image_id = (await upload(client, alice, photo(800, 600))).json()["imageId"]
    first = await client.post(f"/api/v1/images/{image_id}/srcset", json={}, headers=alice)
    assert first.status_code == 200, first.text
    replaced = await client.put(
        f"/api/v1/images/{image_id}",
        headers={**alice, "Content-Type": "image/jpeg"},
        content=photo(600, 800),
    )
    assert replaced.status_code == 200, replaced.text
    version = replaced.json()["content_hash"][:8]
    again = await client.post(f"/api/v1/images/{image_id}/srcset", json={}, headers=alice)
    urls = [u["url"] for u in again.json()["urls"]]
    assert urls and all(f",v_{version}/" in u for u in urls)
    assert not set(urls) & {u["url"] for u in first.json()["urls"]}
