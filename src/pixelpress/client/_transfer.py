"""What an upload reads from (a path, bytes or a binary stream, counted as it is read) and what a
download writes to (a path, written whole or not at all, or a binary stream)."""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

Source = str | os.PathLike[str] | bytes | bytearray | memoryview | IO[bytes]
"""An image to upload: a path, its bytes, or a binary stream (read from its start)."""

Destination = str | os.PathLike[str] | IO[bytes]
"""Where a download goes: a path (replaced only once the whole body arrived) or a stream."""

Progress = Callable[[int, int | None], None]
"""Called as an upload's bytes are handed to the connection: (bytes so far, total or None).
After a retry the count starts again from 0."""


def stream_length(stream: IO[bytes]) -> int | None:
    try:
        return os.fstat(stream.fileno()).st_size
    except (AttributeError, OSError, ValueError):
        pass
    try:
        here = stream.tell()
        end = stream.seek(0, io.SEEK_END)
        stream.seek(here)
    except (AttributeError, OSError, ValueError):
        return None
    return end


class CountingReader:
    """A binary stream that reports the bytes read from it. httpx reads uploads in chunks as
    it sends them, so these counts follow the bytes on their way out."""

    def __init__(self, raw: IO[bytes], progress: Progress | None) -> None:
        self.raw = raw
        self.progress = progress
        self.total = stream_length(raw)
        self.sent = 0

    def read(self, size: int = -1) -> bytes:
        chunk = self.raw.read(size)
        if chunk:
            self.sent += len(chunk)
            if self.progress is not None:
                self.progress(self.sent, self.total)
        return chunk

    def seekable(self) -> bool:
        try:
            return self.raw.seekable()
        except (AttributeError, ValueError):
            return False

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if not self.seekable():
            raise io.UnsupportedOperation("This stream cannot be rewound.")
        position = self.raw.seek(offset, whence)
        if whence == io.SEEK_SET:
            self.sent = position  # httpx rewinds before (re)sending a body
        return position

    def tell(self) -> int:
        if not self.seekable():
            raise io.UnsupportedOperation("This stream has no position.")
        return self.raw.tell()

    def fileno(self) -> int:
        if not hasattr(self.raw, "fileno"):
            raise io.UnsupportedOperation("This stream is not a file.")
        return self.raw.fileno()


@dataclass(frozen=True)
class Opened:
    filename: str
    reader: CountingReader


@contextlib.contextmanager
def open_source(
    source: Source, filename: str | None, progress: Progress | None
) -> Iterator[Opened]:
    """The source as a counted stream; a path is opened here and closed afterwards."""
    if isinstance(source, bytes | bytearray | memoryview):
        yield Opened(filename or "upload", CountingReader(io.BytesIO(bytes(source)), progress))
    elif isinstance(source, str | os.PathLike):
        path = Path(source)
        with path.open("rb") as fh:
            yield Opened(filename or path.name, CountingReader(fh, progress))
    else:
        name = getattr(source, "name", None)
        default = Path(name).name if isinstance(name, str) else "upload"
        yield Opened(filename or default, CountingReader(source, progress))


@contextlib.contextmanager
def open_destination(destination: Destination) -> Iterator[Callable[[bytes], object]]:
    """A writer of chunks. For a path: a temporary file beside it, renamed over it on success
    and removed on failure, so a failed download leaves no half-written file."""
    if not isinstance(destination, str | os.PathLike):
        yield destination.write
        return
    path = Path(destination)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent or ".")
    try:
        with os.fdopen(fd, "wb") as out:
            yield out.write
        # mkstemp makes the file private; a download gets the mode a new file would have had.
        os.chmod(temporary, path.stat().st_mode & 0o777 if path.exists() else 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
