"""Operations on images: the library, transformations and their jobs, downloads, signed URLs
and renders. Each is written once, for both clients (see `_descriptors`)."""

from __future__ import annotations

import contextlib
import json
import mimetypes
import time
from collections.abc import Mapping, Sequence
from typing import Any

import httpx
from httpx_sse import ServerSentEvent, SSEError

from pixelpress.client import errors
from pixelpress.client._descriptors import Endpoints, Pages, endpoint, paged
from pixelpress.client._program import Program, Request, Sleep, ok, path, query
from pixelpress.client._transfer import Destination, Progress, Source, open_destination, open_source
from pixelpress.client.models import (
    DownloadLink,
    DryRun,
    Image,
    ImageStatus,
    Job,
    Page,
    Rendered,
    SignedUrl,
    Srcset,
    Transformed,
    Uploaded,
)

Spec = Mapping[str, Any]
"""A transformation spec in any form the service accepts: `{"transformations": {...}}`, the
inner object, or the short form (`{"resize": "800x", "format": "webp"}`)."""

WAIT_SECONDS = 300.0


class ImageEndpoints(Endpoints):
    # -- the library ------------------------------------------------------------------------

    @endpoint
    def upload(
        self,
        source: Source,
        *,
        filename: str | None = None,
        transformations: Spec | None = None,
        progress: Progress | None = None,
    ) -> Program[Uploaded]:
        """Uploads an image (a path, bytes or a binary stream). With `transformations`, a job
        renders them too (`job_id`). `progress(sent, total)` follows the bytes as they go."""
        data = {"transformations": json.dumps(transformations)} if transformations else None
        response = yield from self._send_image("POST", "/images", source, filename, progress, data)
        return Uploaded.model_validate(response.json())

    @endpoint
    def replace_image(
        self,
        image_id: str,
        source: Source,
        *,
        filename: str | None = None,
        progress: Progress | None = None,
    ) -> Program[Image]:
        """New bytes for an image: its variants and cached renders are purged."""
        target = path("images", image_id)
        response = yield from self._send_image("PUT", target, source, filename, progress, None)
        return Image.model_validate(response.json())

    def _send_image(
        self,
        method: str,
        target: str,
        source: Source,
        filename: str | None,
        progress: Progress | None,
        data: dict[str, str] | None,
    ) -> Program[httpx.Response]:
        with open_source(source, filename, progress) as opened:
            media = mimetypes.guess_type(opened.filename)[0] or "application/octet-stream"
            files = {"image": (opened.filename, opened.reader, media)}
            request = Request(method, self._core.url(target), files=files, data=data)
            # A stream that cannot be rewound is sent once: a retry would send it empty.
            response = yield from self._core.exchange(request, resendable=opened.reader.seekable())
        return ok(response)

    @endpoint
    def list_images(self, *, page: int = 1, limit: int = 10) -> Program[Page[Image]]:
        """One page of your images (admins: theirs too, see `admin_list_images`)."""
        return self._images_page("/images", page, limit)

    @paged
    def iter_images(self, *, limit: int = 100) -> Pages[Image]:
        """Every image of yours, fetched `limit` at a time."""
        return lambda page: self._images_page("/images", page, limit)

    @endpoint
    def admin_list_images(self, *, page: int = 1, limit: int = 10) -> Program[Page[Image]]:
        """Admins: one page of every user's images."""
        return self._images_page("/admin/images", page, limit)

    @paged
    def admin_iter_images(self, *, limit: int = 100) -> Pages[Image]:
        return lambda page: self._images_page("/admin/images", page, limit)

    def _images_page(self, target: str, page: int, limit: int) -> Program[Page[Image]]:
        params = query({"page": page, "limit": limit})
        return self._core.call(Page[Image], "GET", target, params=params)

    @endpoint
    def get_image(self, image_id: str) -> Program[Image]:
        return self._core.call(Image, "GET", path("images", image_id))

    @endpoint
    def delete_image(self, image_id: str) -> Program[None]:
        """Deletes the image with every variant, cached render and job."""
        return self._core.call_empty("DELETE", path("images", image_id))

    @endpoint
    def image_status(self, image_id: str) -> Program[ImageStatus]:
        return self._core.call(ImageStatus, "GET", path("images", image_id, "status"))

    # -- transformations and jobs -----------------------------------------------------------

    @endpoint
    def transform(
        self, image_id: str, transformations: Spec, *, wait: bool = False, timeout: float = 300
    ) -> Program[Transformed]:
        """Queues a rendering of `transformations`. With `wait`, returns once its job ended
        (`job` set, `variant` updated; JobFailedError when it failed). A spec rendered before
        answers at once with its variant and no job."""
        target = path("images", image_id, "transform")
        done = yield from self._core.call(Transformed, "POST", target, json=dict(transformations))
        if not wait or done.job_id is None:
            return done
        job = yield from self._wait(done.job_id, timeout, 1.0, raise_on_failure=True)
        image = yield from self._core.call(Image, "GET", path("images", image_id))
        variant = next((v for v in image.variants if v.id == done.variant_id), done.variant)
        return done.model_copy(update={"job": job, "variant": variant})

    @endpoint
    def dry_run(self, image_id: str, transformations: Spec) -> Program[DryRun]:
        """The output's size and format for `transformations`, without rendering anything."""
        target = path("images", image_id, "transform")
        params = {"dryRun": "true"}
        return self._core.call(DryRun, "POST", target, params=params, json=dict(transformations))

    @endpoint
    def get_job(self, job_id: str) -> Program[Job]:
        return self._core.call(Job, "GET", path("jobs", job_id))

    @endpoint
    def wait_for_job(
        self,
        job_id: str,
        *,
        timeout: float = WAIT_SECONDS,
        poll_interval: float = 1.0,
        raise_on_failure: bool = True,
    ) -> Program[Job]:
        """The job once it ended, followed over its event stream (Server-Sent Events), or by
        polling every `poll_interval` s when the stream cannot tell (a proxy buffering it, a
        dropped connection). JobFailedError when it failed (unless `raise_on_failure` is
        False), WaitTimeoutError after `timeout` s."""
        return self._wait(job_id, timeout, poll_interval, raise_on_failure=raise_on_failure)

    def _wait(
        self, job_id: str, timeout: float, poll_interval: float, *, raise_on_failure: bool
    ) -> Program[Job]:
        deadline = time.monotonic() + timeout
        job = yield from self._watch(job_id, timeout)
        while job is None or not job.finished:
            left = deadline - time.monotonic()
            if left <= 0:
                raise errors.WaitTimeoutError(
                    f"Job {job_id} did not finish within {timeout:g} s.", code="wait_timeout"
                )
            yield Sleep(min(poll_interval, left))
            job = yield from self._core.call(Job, "GET", path("jobs", job_id))
        if job.failed and raise_on_failure:
            raise errors.JobFailedError(job)
        return job

    def _watch(self, job_id: str, timeout: float) -> Program[Job | None]:
        """The job's last state its event stream told, or None when it told nothing."""
        seen: list[Job] = []

        def on_event(event: ServerSentEvent) -> bool:
            if event.event != "status":
                return False
            seen.append(Job.model_validate_json(event.data))
            return seen[-1].finished

        url = self._core.url(path("jobs", job_id, "events"))
        request = Request("GET", url, headers={"Accept": "text/event-stream"}, timeout=timeout)
        # When the stream fails, polling takes over from the last state it told.
        with contextlib.suppress(errors.TransportError, SSEError, ValueError):
            ok((yield from self._core.exchange(request, events=on_event)))
        return seen[-1] if seen else None

    # -- downloads, signed URLs and renders --------------------------------------------------

    @endpoint
    def download_link(self, image_id: str, *, variant: str | None = None) -> Program[DownloadLink]:
        """A signed, expiring link to a variant (`original` for the upload); by default the
        newest processed variant."""
        target = path("images", image_id, "download")
        return self._core.call(DownloadLink, "GET", target, params=query({"variant": variant}))

    @endpoint
    def download(
        self, image_id: str, destination: Destination, *, variant: str | None = None
    ) -> Program[int]:
        """Writes a variant (as `download_link` picks it) to a path or a binary stream; the
        number of bytes written. A path is replaced only once the whole file arrived."""
        target = path("images", image_id, "download")
        params = query({"variant": variant})
        link = yield from self._core.call(DownloadLink, "GET", target, params=params)
        written = 0
        with open_destination(destination) as write:

            def sink(chunk: bytes) -> None:
                nonlocal written
                written += len(chunk)
                write(chunk)

            # The link carries its own signature: no credentials go to it (S3 refuses both).
            request = Request("GET", link.download_url)
            ok((yield from self._core.exchange(request, auth=False, sink=sink)))
        return written

    @endpoint
    def mint_url(
        self,
        image_id: str,
        transformations: Spec | None = None,
        *,
        auto_format: bool = False,
        auto_dpr: bool = False,
        auto_width: bool = False,
        expires_in: int | None = None,
        preset: str | None = None,
    ) -> Program[SignedUrl]:
        """A signed `/i/` URL for one of your images, for browsers and CDNs (no credentials).
        `auto_format`: the best format each browser takes; `auto_dpr`, `auto_width`: the size
        from the browser's client hints (`dpr_auto`, `w_auto`); `expires_in`: seconds it works;
        `preset`: a preset the URL names, `transformations` overriding it."""
        body: dict[str, Any] = {"autoFormat": auto_format, "preset": preset}
        if auto_dpr:
            body["autoDpr"] = True
        if auto_width:
            body["autoWidth"] = True
        if transformations:
            body["transformations"] = dict(transformations)
        if expires_in is not None:
            body["expiresIn"] = expires_in
        target = path("images", image_id, "urls")
        return self._core.call(SignedUrl, "POST", target, json=body)

    @endpoint
    def srcset(
        self,
        image_id: str,
        transformations: Spec | None = None,
        *,
        widths: Sequence[int] | None = None,
        formats: Sequence[str] | None = None,
        sizes: str | None = None,
        alt: str | None = None,
        options: str | None = None,
        expires_in: int | None = None,
    ) -> Program[Srcset]:
        """Signed URLs of one of your images at several `widths` and `formats` (best first, the
        last for `<img>`), with their srcset strings and `<img>`/`<picture>` markup. The base
        transformation (no width) as `transformations` or as URL `options`; None: defaults."""
        given = {"sizes": sizes, "alt": alt, "options": options, "expiresIn": expires_in}
        body: dict[str, Any] = {k: v for k, v in given.items() if v is not None}
        if widths is not None:
            body["widths"] = list(widths)
        if formats is not None:
            body["formats"] = list(formats)
        if transformations:
            body["transformations"] = dict(transformations)
        target = path("images", image_id, "srcset")
        return self._core.call(Srcset, "POST", target, json=body)

    @endpoint
    def render(
        self, image_id: str, params: Mapping[str, object] | None = None
    ) -> Program[Rendered]:
        """Your own on-the-fly render, with the flat query parameters (`width`, `height`,
        `fit`, `format`, `grayscale`, …)."""
        url = self._core.url(path("images", image_id, "render"))
        response = yield from self._core.exchange(Request("GET", url, params=query(params or {})))
        return rendered(ok(response))

    @endpoint
    def fetch(self, url: str) -> Program[Rendered]:
        """The image at a signed URL (minted, or made by `UrlSigner`), without credentials."""
        response = yield from self._core.exchange(Request("GET", url), auth=False)
        return rendered(ok(response))


def rendered(response: httpx.Response) -> Rendered:
    return Rendered(
        content=response.content,
        media_type=response.headers.get("content-type", "application/octet-stream"),
        etag=response.headers.get("etag"),
    )
