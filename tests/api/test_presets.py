"""Presets over HTTP: defining them (own and global), using them in signed and unsigned URLs, in
jobs, in the owner's render and in minting, and an edit purging what they made."""

from __future__ import annotations

import httpx
import pyvips

from pixelpress.bootstrap import Services
from pixelpress.settings import Settings
from tests.api.helpers import assert_error, drain, register, upload
from tests.api.test_admin_logs import make_admin
from tests.api.test_images import stored_files
from tests.images import photo

THUMB = "w_200,h_200,c_cover,g_auto,q_75"


def size_of(answer: httpx.Response) -> tuple[int, int]:
    assert answer.status_code == 200, answer.text
    image = pyvips.Image.new_from_buffer(answer.content, "")
    return image.width, image.height


async def test_defining_listing_and_the_errors(
    client: httpx.AsyncClient, services: Services
) -> None:
    alice = await register(client)
    root = await make_admin(client, services, "root")
    made = await client.post(
        "/api/v1/presets", json={"name": "thumb", "options": "q_75,w_200,h_200,c_cover,g_auto"},
        headers=alice,
    )  # fmt: skip
    assert made.status_code == 201, made.text
    body = made.json()
    assert (body["name"], body["options"], body["public"], body["global"]) == (
        "thumb", THUMB, False, False,
    )  # fmt: skip
    assert body["transformations"]["resize"] == {
        "width": 200, "height": 200, "fit": "cover", "gravity": "auto",
    }  # fmt: skip
    everyone = {"name": "thumb", "transformations": {"resize": "100x"}, "global": True}
    assert (await client.post("/api/v1/presets", json=everyone, headers=root)).status_code == 201
    listed = (await client.get("/api/v1/presets", headers=alice)).json()["items"]
    assert [(p["name"], p["global"]) for p in listed] == [("thumb", False), ("thumb", True)]
    mine = (await client.get("/api/v1/presets/thumb", headers=alice)).json()
    assert mine["options"] == THUMB  # hers shadows the global one
    shared = await client.get("/api/v1/presets/thumb?global=true", headers=alice)
    assert shared.json()["options"] == "w_100"

    post = "/api/v1/presets"
    assert_error(await client.post(post, json={"name": "thumb", "options": "w_1"}, headers=alice),
                 409, "preset_exists")  # fmt: skip
    assert_error(await client.post(post, json={"name": "x", "options": "w_0"}, headers=alice), 422)
    assert_error(await client.post(post, json={"name": "x", "options": "zz_1"}, headers=alice), 422)
    assert_error(await client.post(post, json={"name": "x"}, headers=alice), 422, "invalid_preset")
    assert_error(await client.post(post, json={"name": "Bad Name", "options": "w_1"},
                                   headers=alice), 400)  # fmt: skip
    assert_error(await client.post(post, json={"name": "x", "options": "w_1", "global": True},
                                   headers=alice), 403, "admin_only")  # fmt: skip
    assert_error(await client.get("/api/v1/presets/missing", headers=alice), 404)
    assert_error(await client.put("/api/v1/presets/thumb?global=true", json={"options": "w_1"},
                                  headers=alice), 403)  # fmt: skip
    assert_error(await client.delete("/api/v1/presets/missing", headers=alice), 404)

    edited = await client.put(
        "/api/v1/presets/thumb?global=true", json={"options": "w_120", "public": True},
        headers=root,
    )  # fmt: skip
    assert (edited.json()["options"], edited.json()["global"], edited.json()["public"]) == (
        "w_120", True, True,
    )  # fmt: skip
    assert (
        await client.delete("/api/v1/presets/thumb?global=true", headers=root)
    ).status_code == 204
    assert_error(await client.get("/api/v1/presets/thumb?global=true", headers=alice), 404)
    assert (await client.get("/api/v1/presets/thumb", headers=alice)).json()["options"] == THUMB


async def test_presets_in_urls_render_and_jobs_and_an_edit_purges(
    client: httpx.AsyncClient, services: Services, settings: Settings
) -> None:
    headers = await register(client)
    image_id = (await upload(client, headers, photo(800, 600))).json()["imageId"]
    await drain(services)
    post = await client.post(
        "/api/v1/presets", json={"name": "thumb", "options": THUMB}, headers=headers
    )
    assert post.status_code == 201, post.text

    minted = await client.post(
        f"/api/v1/images/{image_id}/urls", json={"preset": "thumb"}, headers=headers
    )
    url = minted.json()["url"]
    assert "/t_thumb,v_" in url
    first = await client.get(url)
    assert size_of(first) == (200, 200)
    assert first.headers["cache-control"] == "public, max-age=3600"  # an edit changes it
    overridden = await client.post(
        "/api/v1/urls",
        json={"items": [{"imageId": image_id, "preset": "thumb",
                         "transformations": {"resize": {"width": 100, "height": 50}}}]},
        headers=headers,
    )  # fmt: skip
    assert size_of(await client.get(overridden.json()["items"][0]["url"])) == (100, 50)
    render = await client.get(
        f"/api/v1/images/{image_id}/render?preset=thumb&height=120", headers=headers
    )
    assert size_of(render) == (200, 120)
    job = await client.post(
        f"/api/v1/images/{image_id}/transform",
        json={"preset": "thumb", "format": "png"}, headers=headers,
    )  # fmt: skip
    assert job.status_code == 202, job.text
    assert job.json()["variant"]["spec"]["format"] == "png"
    await drain(services)
    before = {p.name for p in stored_files(settings)}
    assert len([n for n in before if n.startswith(tuple("0123456789abcdef"))]) >= 4

    edit = await client.put(
        "/api/v1/presets/thumb", json={"options": "w_150,h_150"}, headers=headers
    )
    assert edit.status_code == 200, edit.text
    assert size_of(await client.get(url)) == (150, 150)  # the same URL, the new expansion
    image = (await client.get(f"/api/v1/images/{image_id}", headers=headers)).json()
    widths = sorted(v["width"] for v in image["variants"])
    assert widths == [150]  # the four made through the old expansion are gone
    after = {p.name for p in stored_files(settings)}
    assert len(before - after) == 4

    assert (await client.delete("/api/v1/presets/thumb", headers=headers)).status_code == 204
    assert_error(await client.get(url), 404, "preset_not_found")
    image = (await client.get(f"/api/v1/images/{image_id}", headers=headers)).json()
    assert image["variants"] == []
    assert_error(
        await client.post(f"/api/v1/images/{image_id}/transform", json={"preset": "thumb"},
                          headers=headers), 404, "preset_not_found",
    )  # fmt: skip


async def test_unsigned_urls_serve_public_presets_only(
    client: httpx.AsyncClient, services: Services
) -> None:
    headers = await register(client)
    image_id = (await upload(client, headers, photo(800, 600))).json()["imageId"]
    for name, public in (("open", True), ("closed", False)):
        answer = await client.post(
            "/api/v1/presets", json={"name": name, "options": "w_100", "public": public},
            headers=headers,
        )  # fmt: skip
        assert answer.status_code == 201, answer.text
    served = await client.get(f"/i/-/t_open/{image_id}.webp")
    assert served.headers["content-type"] == "image/webp"
    assert size_of(served) == (100, 75)
    for refused in ("t_closed", "t_open,w_10", "w_100", "_"):
        assert_error(await client.get(f"/i/-/{refused}/{image_id}"), 403, "preset_not_public")
    assert_error(await client.get(f"/i/-/t_missing/{image_id}"), 404, "preset_not_found")
    assert_error(await client.get("/i/-/t_open/nosuchimage"), 404, "image_not_found")
    # The options are judged before anything is looked up: no image says nothing here.
    assert_error(await client.get("/i/-/w_10/nosuchimage"), 403, "preset_not_public")


async def test_a_global_preset_watermarks_with_the_admins_image(
    client: httpx.AsyncClient, services: Services
) -> None:
    root = await make_admin(client, services, "root")
    logo = (await upload(client, root, photo(100, 100))).json()["imageId"]
    body = {"name": "branded", "options": f"w_200,wi_{logo}", "global": True}
    assert (await client.post("/api/v1/presets", json=body, headers=root)).status_code == 201
    alice = await register(client)
    image_id = (await upload(client, alice, photo(800, 600))).json()["imageId"]
    render = await client.get(f"/api/v1/images/{image_id}/render?preset=branded", headers=alice)
    assert size_of(render) == (200, 150)
    plain = await client.get(f"/api/v1/images/{image_id}/render?width=200", headers=alice)
    assert plain.content != render.content  # the watermark is there
    minted = await client.post(
        f"/api/v1/images/{image_id}/urls", json={"preset": "branded"}, headers=alice
    )
    assert (await client.get(minted.json()["url"])).content == render.content
    # Her own parameters name her own images only.
    assert_error(
        await client.get(f"/api/v1/images/{image_id}/render?preset=branded&watermarkImage={logo}",
                         headers=alice), 422, "watermark_not_found",
    )  # fmt: skip


async def test_a_preset_saying_f_auto_picks_the_format_from_accept(
    client: httpx.AsyncClient,
) -> None:
    headers = await register(client)
    image_id = (await upload(client, headers, photo(400, 300))).json()["imageId"]
    body = {"name": "auto", "options": "w_50,f_auto", "public": True}
    assert (await client.post("/api/v1/presets", json=body, headers=headers)).status_code == 201
    render = f"/api/v1/images/{image_id}/render?preset=auto"
    webp = await client.get(render, headers=headers | {"Accept": "image/webp"})
    assert (webp.headers["content-type"], webp.headers["vary"]) == ("image/webp", "Accept")
    png = await client.get(render + "&format=png", headers=headers | {"Accept": "image/webp"})
    assert png.headers["content-type"] == "image/png" and "vary" not in png.headers
    public = await client.get(f"/i/-/t_auto/{image_id}", headers={"Accept": "image/avif"})
    assert (public.headers["content-type"], public.headers["vary"]) == ("image/avif", "Accept")


async def test_a_preset_with_a_dpr_serves_urls_and_is_refused_by_the_render(
    client: httpx.AsyncClient,
) -> None:
    headers = await register(client)
    image_id = (await upload(client, headers, photo(800, 600))).json()["imageId"]
    for name, options in (("fixed", "w_200,dpr_2"), ("retina", "w_200,dpr_auto")):
        body = {"name": name, "options": options, "public": True}
        made = await client.post("/api/v1/presets", json=body, headers=headers)
        assert made.status_code == 201, made.text
    listed = (await client.get("/api/v1/presets", headers=headers)).json()["items"]
    assert [p["options"] for p in listed] == ["w_400", "w_200,dpr_auto"]  # a number is applied
    hinted = await client.get(f"/i/-/t_retina/{image_id}", headers={"Sec-CH-DPR": "2"})
    assert size_of(hinted) == (400, 300)
    assert "Sec-CH-DPR" in hinted.headers["vary"]
    assert size_of(await client.get(f"/i/-/t_retina/{image_id}")) == (200, 150)
    render = f"/api/v1/images/{image_id}/render?preset=retina"
    assert_error(await client.get(render, headers=headers), 422, "invalid_options")
    assert size_of(await client.get(f"/api/v1/images/{image_id}/render?preset=fixed",
                                    headers=headers)) == (400, 300)  # fmt: skip
