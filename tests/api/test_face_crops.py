"""Face-aware crops through the API, on the services the composition root builds (the real
detector): the dry run reports the face, the owner's render route and a job keep it in the
output, and the picture is searched once for all of them."""

from __future__ import annotations

import httpx
import pyvips

from pixelpress.adapters.faces_haar import HaarFaceDetector
from pixelpress.bootstrap import Services
from pixelpress.domain.faces import Box
from pixelpress.domain.keys import faces_key
from pixelpress.domain.models import ImageLimits
from tests.api.helpers import drain, register, upload
from tests.api.test_transforms import fetch_download
from tests.faces import face_at, overlap, portrait_on

AT = (1088, 44)  # the portrait at the right end of a 1600 x 600 picture


async def faces_in(data: bytes) -> tuple[Box, ...]:
    return (await HaarFaceDetector(ImageLimits(), threads=1).detect(data)).boxes


def inside(box: Box, width: int, height: int) -> bool:
    return box.x >= 0 and box.y >= 0 and box.x + box.width <= width and box.y + box.height <= height


async def test_dry_run_render_and_job_keep_the_face(
    client: httpx.AsyncClient, services: Services
) -> None:
    headers = await register(client)
    image_id = (await upload(client, headers, portrait_on(1600, 600, *AT))).json()["imageId"]
    transform = f"/api/v1/images/{image_id}/transform"
    spec = {"resize": {"width": 400, "height": 400, "gravity": "face"}, "format": "png"}

    plain = await client.post(f"{transform}?dryRun=true", json={"resize": "400x400"},
                              headers=headers)  # fmt: skip
    assert plain.status_code == 200 and "faces" not in plain.json()
    dry = await client.post(f"{transform}?dryRun=true", json=spec, headers=headers)
    assert dry.status_code == 200, dry.text
    body = dry.json()
    assert (body["width"], body["height"], body["cached"]) == (400, 400, False)
    [face] = body["faces"]
    assert overlap(Box(face["x"], face["y"], face["width"], face["height"]), face_at(*AT)) > 0.7
    async with services.db.unit_of_work(readonly=True) as uow:
        image = await uow.images.get(image_id)
    assert image is not None
    key = faces_key(image_id, image.content_hash)
    cached = await services.cache.get(key)
    assert cached is not None

    # The owner's render route (on-the-fly delivery) centres on it.
    r = await client.get(
        f"/api/v1/images/{image_id}/render?width=300&height=400&gravity=face", headers=headers
    )
    assert r.status_code == 200, r.text
    [found] = await faces_in(r.content)
    assert inside(found, 300, 400)
    # So does a job.
    queued = await client.post(transform, json=spec, headers=headers)
    assert queued.status_code == 202, queued.text
    await drain(services)
    data = await fetch_download(client, headers, image_id)
    assert pyvips.Image.new_from_buffer(data, "").width == 400
    [found] = await faces_in(data)
    assert inside(found, 400, 400)
    assert await services.cache.get(key) == cached  # found once, read by all

    # Replaced by a picture without the face: nothing of the old faces is read again.
    replaced = await client.put(
        f"/api/v1/images/{image_id}",
        headers=headers,
        files={"image": ("other.jpg", portrait_on(1600, 600, 0, 44), "image/jpeg")},
    )
    assert replaced.status_code == 200, replaced.text
    assert await services.cache.get(key) is None
    again = (await client.post(f"{transform}?dryRun=true", json=spec, headers=headers)).json()
    assert [overlap(Box(**f), face_at(0, 44)) > 0.7 for f in again["faces"]] == [True]
