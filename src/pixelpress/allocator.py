"""glibc's allocator, tuned for an image server (called first thing by `serve` and `worker`).

An upload or a render allocates buffers of megabytes from several threads (libvips' workers,
the thread pool, the database driver). glibc then keeps what they free: it raises its mmap
threshold after the first large free, so later large buffers come from heaps that fragment and
are never given back, and it opens an arena per thread. Five 35-megapixel uploads took a
server from 131 MB to a 350 MB peak and kept it at 340 MB; with large buffers always mapped
(and so returned when freed) and two arenas, the peak is 260 MB and it settles at 210 MB.

The usual advice (imgproxy's, libvips') is MALLOC_ARENA_MAX=2 in the environment or jemalloc;
`mallopt` does the same from inside, so `pixelpress serve` needs no wrapper. Settings given in
the environment (MALLOC_ARENA_MAX, MALLOC_MMAP_THRESHOLD_) win. Elsewhere (musl, macOS) this
does nothing."""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os

M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8
MMAP_THRESHOLD = 1024 * 1024
ARENA_MAX = 2


@functools.cache
def _glibc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name)
        libc.gnu_get_libc_version  # noqa: B018 - glibc only: musl has mallopt as a stub
    except (OSError, AttributeError):
        return None
    return libc


def trim() -> None:
    """Gives the heap's free pages back to the system (`malloc_trim`), after a large decode:
    the small buffers it freed would otherwise stay resident, and the next one peaks higher."""
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)


def tune() -> bool:
    """True when glibc took the settings."""
    libc = _glibc()
    if libc is None:
        return False
    mallopt = libc.mallopt
    done = True
    if "MALLOC_MMAP_THRESHOLD_" not in os.environ:
        done = bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and done
    if "MALLOC_ARENA_MAX" not in os.environ:
        done = bool(mallopt(M_ARENA_MAX, ARENA_MAX)) and done
    return done
