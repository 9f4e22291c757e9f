"""Receiving an upload (multipart field or raw body) into a local temporary file, with the byte
limit enforced while reading and the sha256 taken on the way."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request

from pixelpress.domain.errors import InvalidInput, TooLarge, UnsupportedMedia
from pixelpress.domain.limits import Limit
from pixelpress.domain.models import MEDIA_TYPES
from pixelpress.domain.text import check_document, check_line
from pixelpress.usecases.images import Upload

FILE_FIELDS = ("image", "file")
SPEC_FIELDS = ("transformations", "processingOptions")
RAW_TYPES = ("image/", "application/octet-stream")
CHUNK = 256 * 1024


@dataclass(frozen=True)
class Received:
    upload: Upload
    spec: Any
    """The transformation payload sent with the upload (parsed JSON), or None."""


def _too_large(limit: int) -> TooLarge:
    return TooLarge(
        f"The image is larger than the limit of {limit} bytes.",
        code=Limit.BYTES,
        details={"limit": limit},
    )


async def _spool(chunks: AsyncIterator[bytes], limit: int, out: Any) -> tuple[int, str]:
    size, digest = 0, hashlib.sha256()
    async for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        digest.update(chunk)
        out.write(chunk)
    out.flush()
    if size == 0:
        raise InvalidInput("The uploaded file is empty.", code="empty_file", field="image")
    return size, digest.hexdigest()


async def _file_chunks(upload: UploadFile) -> AsyncIterator[bytes]:
    while chunk := await upload.read(CHUNK):
        yield chunk


def _spec_payload(raw: Any) -> Any:
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str):
        raise InvalidInput("The transformations field must be JSON text.", field="transformations")
    try:
        document = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            "The transformations field is not valid JSON.",
            code="invalid_json",
            field="transformations",
        ) from exc
    check_document(document, "transformations")
    return document


def _single(form: FormData, names: tuple[str, ...], what: str) -> Any:
    """The one value sent under any of `names`; two are refused rather than one silently
    winning."""
    values = [value for name in names for value in form.getlist(name)]
    if len(values) > 1:
        raise InvalidInput(
            f"Send one {what} per request; this one has {len(values)}.",
            code=f"multiple_{what.replace(' ', '_')}s",
            field=names[0],
        )
    return values[0] if values else None


def _raw_filename(request: Request) -> str | None:
    disposition = request.headers.get("content-disposition", "")
    for part in disposition.split(";"):
        key, _, value = part.strip().partition("=")
        if key.lower() == "filename":
            return value.strip().strip('"')
    return request.headers.get("x-filename") or request.query_params.get("filename")


@contextlib.asynccontextmanager
async def receive_upload(request: Request, *, limit: int) -> AsyncIterator[Received]:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    fd, name = tempfile.mkstemp(prefix="pixelpress-upload-")
    path = Path(name)
    try:
        with os.fdopen(fd, "wb") as out:
            if content_type == "multipart/form-data":
                async with request.form(max_files=2, max_fields=8, max_part_size=64 * 1024) as form:
                    file = _single(form, FILE_FIELDS, "file")
                    if not isinstance(file, UploadFile):
                        raise InvalidInput(
                            "Send the image in the multipart field 'image'.",
                            code="missing_file",
                            field="image",
                        )
                    spec = _spec_payload(_single(form, SPEC_FIELDS, "transformation"))
                    filename = check_line(file.filename or "", "filename")
                    size, sha = await _spool(_file_chunks(file), limit, out)
            elif content_type.startswith(RAW_TYPES):
                spec = None
                filename = check_line(_raw_filename(request) or "", "filename")
                size, sha = await _spool(request.stream(), limit, out)
            else:
                raise UnsupportedMedia(
                    "Send the image as multipart/form-data (field 'image') or as a raw body "
                    "with an image Content-Type.",
                    code="unsupported_content_type",
                    details={"accepted": ["multipart/form-data", *MEDIA_TYPES.values()]},
                )
        yield Received(Upload(path, filename, size, sha), spec)
    finally:
        await anyio.Path(path).unlink(missing_ok=True)
