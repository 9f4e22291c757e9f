"""An in-process LRU of hot entries in front of the shared cache: a hit on an image that everyone
fetches costs neither a Redis round trip nor a decode, and one viral image no longer makes one
Redis key hot.

Bounded by entries and by bytes, and short-lived (`ttl` seconds): what another process purged is
forgotten here within that time at worst. Purges made in this process drop their entries at once
(`drop_prefix`), and purges made elsewhere are announced to every process (see
`adapters.cache_invalidating`), which clears its entries within milliseconds; the TTL bounds what
an announcement lost on the way can leave behind.

Hand-written (fifty lines) rather than cachetools: one TTL for all is fine, but we need two
bounds at once (entries and bytes), a prefix drop, and a generation that tells a fill which
raced with a purge to keep out."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")
ENTRY_OVERHEAD = 512
"""Bytes an entry costs besides its payload (key, record, bookkeeping), for the bytes bound."""


class HotEntries(Generic[T]):
    def __init__(
        self,
        *,
        max_entries: int,
        max_bytes: int,
        ttl: float,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        self._entries: OrderedDict[str, tuple[float, int, T]] = OrderedDict()
        self._max_entries = max_entries
        self._max_bytes = max_bytes
        self._ttl = ttl
        self._timer = timer
        self._bytes = 0
        self.generation = 0
        """Moves on at every drop: a fill that began before a drop (it read the shared cache
        meanwhile) may hold what the drop removed, and is not kept (see `put`)."""

    def get(self, key: str) -> T | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[0] < self._timer():
            self._pop(key)
            return None
        self._entries.move_to_end(key)
        return entry[2]

    def put(self, key: str, value: T, *, size: int, since: int | None = None) -> None:
        """Keeps `value` (`size` bytes of payload), unless something was dropped since
        generation `since` (the fill may be older than the drop)."""
        if since is not None and since != self.generation:
            return
        self._pop(key)
        cost = size + ENTRY_OVERHEAD
        if self._max_entries <= 0 or cost > self._max_bytes:
            return
        self._entries[key] = (self._timer() + self._ttl, cost, value)
        self._bytes += cost
        while self._bytes > self._max_bytes or len(self._entries) > self._max_entries:
            self._pop(next(iter(self._entries)))

    def drop(self, key: str) -> None:
        self.generation += 1
        self._pop(key)

    def drop_prefix(self, prefix: str) -> None:
        self.generation += 1
        for key in [k for k in self._entries if k.startswith(prefix)]:
            self._pop(key)

    def clear(self) -> None:
        self.generation += 1
        self._entries.clear()
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._entries)

    def _pop(self, key: str) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self._bytes -= entry[1]
