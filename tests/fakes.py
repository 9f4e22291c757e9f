"""Stand-ins for the ports whose real adapter is too slow or too heavy for use-case tests.

FakeImageProcessor is the ImageProcessor without pixels: its "images" are a few bytes stating
what they are (`fake_image`), it renders by working out the output's size and format with the
domain's `plan`, and it refuses what the real engine refuses, with the same errors and codes
(the rules any engine follows come from `adapters.vips.rules`, which does not import pyvips).
The processor contract (tests/contract/test_processor.py) runs over it, so it stays honest.

    processor = FakeImageProcessor()
    path.write_bytes(fake_image(640, 480, ImageFormat.JPEG))
    processor.fail_next(Unavailable("render farm down"), times=2, call="render")
    ...
    assert processor.rendered == [spec, spec, spec]   # two failures, then the success
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import blurhash

from pixelpress.adapters.vips.rules import check_declared, corrupt, keeps_frames, unsupported
from pixelpress.domain.errors import DomainError, InvalidInput, Unprocessable
from pixelpress.domain.faces import Box, Faces, Focus
from pixelpress.domain.limits import Limit, too_large
from pixelpress.domain.models import (
    ImageFormat,
    ImageInfo,
    ImageLimits,
    Ingested,
    Placeholder,
    Rendered,
)
from pixelpress.domain.spec import TransformSpec, plan
from pixelpress.ports import Handler

FAKE_MAGIC = b"PIXELPRESS-FAKE-IMAGE\n"
"""How the fake's files begin; anything else is not an image to it."""

Call = Literal["ingest", "placeholder", "render"]


@dataclass(frozen=True)
class FakeImage:
    """What a fake file says about itself: its size as stored (before `orientation`), frames,
    an EXIF orientation, whether it carries a location, one colour, and what made it."""

    format: ImageFormat
    width: int
    height: int
    frames: int = 1
    orientation: int = 1
    location: bool = False
    colour: str = "#808080"
    made: str = ""

    def encode(self) -> bytes:
        return FAKE_MAGIC + json.dumps(asdict(self), sort_keys=True).encode()

    @property
    def displayed(self) -> tuple[int, int]:
        turned = self.orientation in (5, 6, 7, 8)
        return (self.height, self.width) if turned else (self.width, self.height)


def fake_image(
    width: int,
    height: int,
    fmt: ImageFormat = ImageFormat.PNG,
    *,
    frames: int = 1,
    orientation: int = 1,
    location: bool = False,
    colour: str = "#808080",
) -> bytes:
    """The bytes of a fake image that FakeImageProcessor accepts as this one."""
    return FakeImage(fmt, width, height, frames, orientation, location, colour).encode()


def read_fake(data: bytes) -> FakeImage:
    """The fake image `data` holds. UnsupportedMedia when it is no fake image (or names a type
    that is not accepted), InvalidInput (`invalid_image`) when it is cut or garbled."""
    if not data.startswith(FAKE_MAGIC):
        raise unsupported()
    try:
        fields: dict[str, Any] = json.loads(data[len(FAKE_MAGIC) :])
        name = fields.pop("format")
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise corrupt() from exc
    if name not in [str(f) for f in ImageFormat]:
        raise unsupported() if isinstance(name, str) else corrupt()
    try:
        image = FakeImage(ImageFormat(name), **fields)
    except TypeError as exc:
        raise corrupt() from exc
    numbers = (image.width, image.height, image.frames, image.orientation)
    valid = (
        all(type(n) is int and n >= 1 for n in numbers)
        and image.orientation <= 8
        and isinstance(image.location, bool)
        and isinstance(image.made, str)
        and re.fullmatch(r"#[0-9a-f]{6}", str(image.colour)) is not None
    )
    if not valid:
        raise corrupt()
    return image


class FakeImageProcessor:
    """ImageProcessor without pixels. `rendered` lists every spec it was asked to render, in
    order (those it then failed included); `fail_next` makes coming calls raise."""

    def __init__(self, limits: ImageLimits | None = None) -> None:
        self.limits = limits or ImageLimits()
        self.rendered: list[TransformSpec] = []
        self.masters: list[bool] = []
        """Whether each of `rendered` was asked for as a rendition (`master`)."""
        self.focused: list[Focus | None] = []
        """The face focus each render was given, in the order of `rendered`."""
        self._failures: list[tuple[DomainError, Call | None]] = []
        self.gate: asyncio.Event | None = None
        """When set to an event, renders wait for it: a slow render the test lets finish."""

    def fail_next(self, error: DomainError, times: int = 1, *, call: Call | None = None) -> None:
        """The next `times` calls (of `call` only, when given) raise `error`: any DomainError,
        such as Unavailable for a failure worth retrying. Calls queue after earlier ones."""
        self._failures += [(error, call)] * times

    async def ingest(self, path: Path) -> Ingested:
        self._fail_if_told("ingest")
        data = path.read_bytes()
        if not data:
            raise InvalidInput("The uploaded file is empty.", code="empty_file", field="image")
        if len(data) > self.limits.max_bytes:
            raise too_large(Limit.BYTES, self.limits.max_bytes, len(data))
        image = read_fake(data)
        width, height = image.displayed
        check_declared(width, height, image.frames, self.limits)
        info = ImageInfo(image.format, width, height, image.frames)
        if image.orientation == 1 and not image.location:
            return Ingested(info)
        clean = replace(image, width=width, height=height, orientation=1, location=False)
        return Ingested(info, clean.encode())

    async def placeholder(self, source: bytes | Path) -> Placeholder:
        self._fail_if_told("placeholder")
        try:
            image = read_fake(_bytes(source))
        except DomainError as exc:
            raise corrupt() from exc
        colour = [int(image.colour[i : i + 2], 16) for i in (1, 3, 5)]
        # A 32-pixel wide thumbnail of one colour, as the real one hashes (fewer pixels bend it).
        flat = blurhash.encode([[colour] * 32] * 24, components_x=4, components_y=3)
        return Placeholder(blurhash=flat, dominant_color=image.colour)

    async def render(
        self,
        source: bytes | Path,
        spec: TransformSpec,
        *,
        watermark: bytes | None = None,
        focus: Focus | None = None,
        master: bool = False,
    ) -> Rendered:
        self.rendered.append(spec)
        self.masters.append(master)
        self.focused.append(focus)
        if self.gate is not None:
            await self.gate.wait()
        self._fail_if_told("render")
        data = _bytes(source)
        if not data.startswith(FAKE_MAGIC):
            raise InvalidInput("The stored image is not of an accepted type.", code="invalid_image")
        image = _readable(data, "The image could not be processed; it may be corrupt.")
        width, height = image.displayed
        check_declared(width, height, image.frames, self.limits)
        target = plan(
            spec, width=width, height=height, source_format=image.format, limits=self.limits
        )
        kept = image.frames > 1 and keeps_frames(spec, target.format)
        if spec.watermark is not None and spec.watermark.text is None:
            if watermark is None:
                raise Unprocessable("The watermark image is missing.", code="watermark_missing")
            mark = _readable(watermark, "The watermark is not an accepted image.")
            check_declared(*mark.displayed, mark.frames, self.limits)
        out = FakeImage(
            ImageFormat(target.format),
            target.width,
            target.height,
            frames=image.frames if kept else 1,
            colour=image.colour,
            made=f"{hashlib.sha256(data).hexdigest()[:16]}:{spec.hash}",
        )
        flattened = image.frames > 1 and not kept
        return Rendered(out.encode(), target.format, out.width, out.height, flattened)

    def _fail_if_told(self, call: Call) -> None:
        for index, (error, only) in enumerate(self._failures):
            if only in (None, call):
                del self._failures[index]
                raise error


def _bytes(source: bytes | Path) -> bytes:
    return source.read_bytes() if isinstance(source, Path) else source


def _readable(data: bytes, message: str) -> FakeImage:
    """The fake image in `data`, or InvalidInput (`invalid_image`) with `message`."""
    try:
        return read_fake(data)
    except DomainError as exc:
        raise InvalidInput(message, code="invalid_image") from exc


class FakeFaceDetector:
    """FaceDetector that finds the same `boxes` (pixels of the upright picture) in any fake
    image, and counts its searches in `calls`."""

    def __init__(self, *boxes: Box) -> None:
        self.boxes = tuple(sorted(boxes, key=lambda b: -b.area))
        self.calls = 0
        self.gate: asyncio.Event | None = None
        """When set to an event, searches wait for it: a slow search the test lets finish."""

    async def detect(self, source: bytes | Path) -> Faces:
        self.calls += 1
        if self.gate is not None:
            await self.gate.wait()
        width, height = _readable(_bytes(source), "The image cannot be read.").displayed
        return Faces(width, height, self.boxes)


class FakeClock:
    """Aware UTC time that moves only when the test says so. It starts at the wall clock's now
    unless told otherwise: PyJWT checks token times against the wall clock too."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime.now(UTC).replace(microsecond=0)

    def now(self) -> datetime:
        return self._now

    def advance(self, by: float | timedelta) -> None:
        """Moves time on by `by` (seconds, or a timedelta)."""
        self._now += by if isinstance(by, timedelta) else timedelta(seconds=by)


@dataclass(frozen=True)
class Waiting:
    item_id: str
    due: datetime
    """When the item was published for: its publish time plus its delay."""


@dataclass
class ClockQueue:
    """The TaskQueue port on a FakeClock: what was published waits in `waiting` with the time
    it is due, until the test takes it with `take_due`, as a consumer would at that time. (The
    in-process queue sleeps out delays in real time and shows nothing of what waits.)"""

    clock: FakeClock
    waiting: list[Waiting] = field(default_factory=list)
    dead: dict[str, str] = field(default_factory=dict)
    """Items dead-lettered, with their reason."""

    async def publish(self, item_id: str, *, delay: float = 0, key: str | None = None) -> None:
        self.waiting.append(Waiting(item_id, self.clock.now() + timedelta(seconds=delay)))

    async def dead_letter(self, item_id: str, reason: str) -> None:
        self.dead[item_id] = reason

    async def start(self, handler: Handler | None) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def ping(self) -> None:
        return None

    def take_due(self) -> list[str]:
        """The items due by now, soonest first, taken out of `waiting`."""
        now = self.clock.now()
        due = sorted((w for w in self.waiting if w.due <= now), key=lambda w: w.due)
        self.waiting = [w for w in self.waiting if w.due > now]
        return [w.item_id for w in due]
