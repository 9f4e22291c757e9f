"""Fakes for the use-case tests: a clock the test moves, an image processor that draws no pixel,
and a task queue that keeps what it was given on that clock.

The processor reads and writes "images" of a few bytes that state their format and size
(`fake_image`), sizes its outputs with the domain's own `plan`, and keeps the specs it was
asked to render, so a test can see what was rendered without decoding anything. (The fake of
the vips work may also live in tests/fakes.py; this one is the use-case tests' own.)"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pixelpress.domain.errors import InvalidInput
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

MAGIC = b"FAKE"


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


def fake_image(
    width: int, height: int, fmt: str = ImageFormat.JPEG, *, frames: int = 1, tag: str = ""
) -> bytes:
    """The bytes of an image the fake processor reads: its format, size and frame count in a
    line of text; `tag` makes two images of the same shape differ."""
    return b"%s %s %dx%dx%d %s" % (MAGIC, str(fmt).encode(), width, height, frames, tag.encode())


def read_fake(data: bytes) -> ImageInfo:
    """The facts a `fake_image` states; InvalidInput (`invalid_image`) for any other bytes."""
    try:
        magic, fmt, shape, *_ = data.split(b" ", 3)
        width, height, frames = (int(n) for n in shape.split(b"x"))
        if magic != MAGIC:
            raise ValueError(magic)
        return ImageInfo(ImageFormat(fmt.decode()), width, height, frames)
    except ValueError as exc:
        raise InvalidInput("The file is not an image.", code="invalid_image") from exc


@dataclass
class FakeImageProcessor:
    """The ImageProcessor port without libvips: every answer is a few bytes."""

    limits: ImageLimits = field(default_factory=ImageLimits)
    asked: list[TransformSpec] = field(default_factory=list)
    """Every spec `render` was asked for, in order (failed attempts included)."""
    failures: list[Exception] = field(default_factory=list)
    """Raised by the next renders, one each, before anything is rendered."""
    gate: asyncio.Event | None = None
    """When given, renders wait for it to be set: a slow render the test lets finish."""

    async def ingest(self, path: Path) -> Ingested:
        return Ingested(read_fake(path.read_bytes()))

    async def placeholder(self, source: bytes | Path) -> Placeholder:
        read_fake(source.read_bytes() if isinstance(source, Path) else source)
        return Placeholder("L00000fQfQfQfQfQfQfQfQfQfQfQ", "#808080")

    async def render(
        self, source: bytes | Path, spec: TransformSpec, *, watermark: bytes | None = None
    ) -> Rendered:
        self.asked.append(spec)
        if self.gate is not None:
            await self.gate.wait()
        if self.failures:
            raise self.failures.pop(0)
        info = read_fake(source.read_bytes() if isinstance(source, Path) else source)
        if watermark is not None:
            read_fake(watermark)
        out = plan(
            spec,
            width=info.width,
            height=info.height,
            source_format=info.format,
            limits=self.limits,
        )
        fmt = str(out.format)
        data = fake_image(out.width, out.height, fmt, tag=f"rendered {spec.hash[:12]}")
        return Rendered(data, fmt, out.width, out.height)


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

    async def publish(self, item_id: str, *, delay: float = 0) -> None:
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
