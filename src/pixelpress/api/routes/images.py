"""/images and /jobs: the image library, transformations and their jobs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import asdict
from typing import Annotated, Any

from fastapi import Body, Query, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse

from pixelpress.api.deps import (
    BaseUrl,
    CacheDep,
    ClockDep,
    Config,
    CurrentUser,
    Db,
    Deliverer,
    ImageListing,
    Jobs,
    Links,
    Paging,
    Processor,
    Storage,
)
from pixelpress.api.routing import api_router
from pixelpress.api.schemas import (
    DownloadOut,
    ImageOut,
    JobOut,
    PageOut,
    StatusOut,
    TransformOut,
    UploadOut,
    VariantOut,
)
from pixelpress.api.strict import QueryBool
from pixelpress.api.uploads import receive_upload
from pixelpress.domain.errors import InvalidInput, Unprocessable
from pixelpress.domain.models import ImageLimits, User
from pixelpress.domain.spec import TransformSpec, parse_spec
from pixelpress.ports import Cache, Database
from pixelpress.usecases import images, preset_expansion, transforms

router = api_router(tags=["images"])
EVENT_POLL_SECONDS = 0.25


def _status_url(image_id: str) -> str:
    return f"/api/v1/images/{image_id}/status"


UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["image"],
                    "properties": {
                        "image": {"type": "string", "format": "binary"},
                        "transformations": {
                            "type": "string",
                            "description": "A transformation spec as JSON: queues a job (202).",
                        },
                    },
                }
            },
            **{
                media: {"schema": {"type": "string", "format": "binary"}}
                for media in ("image/jpeg", "image/png", "image/webp", "image/gif", "image/avif")
            },
        },
    }
}


@router.post("/images", status_code=201, response_model=UploadOut, openapi_extra=UPLOAD_BODY)
@router.post("/images/upload", status_code=201, response_model=UploadOut, include_in_schema=False)
async def upload(
    request: Request,
    user: CurrentUser,
    db: Db,
    storage: Storage,
    processor: Processor,
    jobs: Jobs,
    clock: ClockDep,
    config: Config,
) -> JSONResponse:
    limits = config.limits
    async with receive_upload(request, limit=limits.max_bytes) as received:
        spec = parse_spec(received.spec, limits=limits) if received.spec is not None else None
        view, queued = await images.upload_image(
            received.upload,
            user=user,
            spec=spec,
            db=db,
            storage=storage,
            processor=processor,
            queue=jobs,
            clock=clock,
            limits=limits,
        )
    out = UploadOut(
        message="Image uploaded successfully.", imageId=view.image.id, image=ImageOut.of(view)
    )
    status = 201
    if queued is not None:
        out.jobId = queued.job.id if queued.job else None
        out.statusUrl = _status_url(view.image.id)
        status = 202
    return JSONResponse(out.model_dump(mode="json"), status_code=status)


@router.put("/images/{image_id}", response_model=ImageOut, openapi_extra=UPLOAD_BODY)
async def replace_image(
    image_id: str,
    request: Request,
    user: CurrentUser,
    db: Db,
    storage: Storage,
    processor: Processor,
    cache: CacheDep,
    jobs: Jobs,
    clock: ClockDep,
    config: Config,
) -> ImageOut:
    """New bytes for the image: its variants, renditions and cache entries are purged."""
    async with receive_upload(request, limit=config.limits.max_bytes) as received:
        if received.spec is not None:
            raise InvalidInput(
                "Replacing takes an image only; transform it afterwards.",
                field="transformations",
            )
        view = await images.replace_image(
            image_id,
            received.upload,
            user=user,
            db=db,
            storage=storage,
            processor=processor,
            cache=cache,
            queue=jobs,
            clock=clock,
            limits=config.limits,
        )
    return ImageOut.of(view)


@router.get("/images", response_model=PageOut[ImageOut])
async def list_images(
    user: CurrentUser, db: Db, page: Paging, where: ImageListing
) -> PageOut[ImageOut]:
    found = await images.list_images(user=user, page=page, db=db, where=where)
    return PageOut[ImageOut].of(found, [ImageOut.of(v) for v in found.items])


@router.get("/images/{image_id}", response_model=ImageOut)
async def get_image(image_id: str, user: CurrentUser, db: Db) -> ImageOut:
    return ImageOut.of(await images.get_image(image_id, user=user, db=db))


@router.delete("/images/{image_id}", status_code=204)
async def delete_image(
    image_id: str, user: CurrentUser, db: Db, storage: Storage, cache: CacheDep
) -> Response:
    await images.delete_image(image_id, user=user, db=db, storage=storage, cache=cache)
    return Response(status_code=204)


@router.post("/images/{image_id}/transform", response_model=TransformOut, status_code=202)
@router.post(
    "/images/{image_id}/process",
    response_model=TransformOut,
    status_code=202,
    include_in_schema=False,
)
async def transform(
    image_id: str,
    user: CurrentUser,
    db: Db,
    jobs: Jobs,
    clock: ClockDep,
    config: Config,
    deliverer: Deliverer,
    payload: dict[str, Any] = Body(),
    dry_run: Annotated[QueryBool, Query(alias="dryRun")] = False,
) -> JSONResponse:
    """Queues a rendering of the spec in the body. `"preset": "thumb"` starts from a preset
    (yours, else a global one); the body's other operations override its options."""
    limits = config.limits
    spec, presets = await _job_spec(image_id, payload, user, db, deliverer.cache, limits)
    if dry_run:
        found = await transforms.dry_run(
            image_id, spec, user=user, db=db, limits=limits, faces=deliverer.faces
        )
        answer: dict[str, Any] = {
            "width": found.width,
            "height": found.height,
            "format": found.format,
            "cached": found.cached,
        }
        if found.faces is not None:
            answer["faces"] = [asdict(box) for box in found.faces]
        return JSONResponse(answer)
    queued = await transforms.request_transform(
        image_id,
        spec,
        user=user,
        db=db,
        queue=jobs,
        clock=clock,
        limits=limits,
        presets=presets,
    )
    done = queued.job is None
    out = TransformOut(
        message=(
            f"Image {image_id} was already processed with this specification."
            if done
            else f"Processing started for image {image_id}."
        ),
        variantId=queued.variant.id,
        jobId=queued.job.id if queued.job else None,
        statusUrl=_status_url(image_id),
        variant=VariantOut.of(queued.variant),
    )
    return JSONResponse(out.model_dump(mode="json"), status_code=200 if done else 202)


async def _job_spec(
    image_id: str,
    payload: dict[str, Any],
    user: User,
    db: Database,
    cache: Cache,
    limits: ImageLimits,
) -> tuple[TransformSpec, tuple[str, ...]]:
    """The body's spec; with a `preset` (its name), the preset's with the rest on top."""
    preset = payload.pop("preset", None)
    if preset is None:
        return parse_spec(payload, limits=limits), ()
    if not isinstance(preset, str):
        raise InvalidInput("preset takes a preset's name.", field="preset")
    overrides = parse_spec(payload, limits=limits) if payload else None
    settled = await preset_expansion.preset_spec(
        image_id, preset, overrides, user=user, db=db, cache=cache, limits=limits
    )
    if settled.spec is None:
        raise Unprocessable("This preset does nothing to render.", field="preset")
    return settled.spec, settled.presets


@router.get("/images/{image_id}/status", response_model=StatusOut)
async def image_status(image_id: str, user: CurrentUser, db: Db) -> StatusOut:
    view = await images.get_image(image_id, user=user, db=db)
    return StatusOut(
        imageId=view.image.id, status=view.status, jobs=[JobOut.of(j) for j in view.jobs]
    )


@router.get("/images/{image_id}/download", response_model=DownloadOut)
async def download(
    image_id: str,
    user: CurrentUser,
    db: Db,
    links: Links,
    base_url: BaseUrl,
    variant: str | None = None,
) -> DownloadOut:
    found = await images.find_download(image_id, variant, user=user, db=db)
    link = await links.link(
        found.key, filename=found.filename, media_type=found.media_type, base_url=base_url
    )
    return DownloadOut(downloadUrl=link.url, expiresAt=link.expires_at)


@router.get("/jobs/{job_id}", response_model=JobOut)
async def get_job(job_id: str, user: CurrentUser, db: Db) -> JobOut:
    return JobOut.of(await transforms.get_job(job_id, user=user, db=db))


@router.get(
    "/jobs/{job_id}/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def job_events(job_id: str, user: CurrentUser, db: Db) -> StreamingResponse:
    """Server-Sent Events: one `status` event per state the job passes through, until it ends."""
    first = await transforms.get_job(job_id, user=user, db=db)  # 404 before streaming

    async def events() -> AsyncIterator[str]:
        async for job in transforms.watch_job(first, db=db, interval=EVENT_POLL_SECONDS):
            data = JobOut.of(job).model_dump_json()
            yield f"id: {job.id}-{job.status}\nevent: status\ndata: {data}\n\n"

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
