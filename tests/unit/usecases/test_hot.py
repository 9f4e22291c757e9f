"""The in-process hot entries (usecases/hot.py): two bounds, a TTL, prefix drops, and fills that
raced with a drop kept out."""

from __future__ import annotations

from pixelpress.usecases.hot import ENTRY_OVERHEAD, HotEntries


class Timer:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_entries_are_bounded_by_count_oldest_first() -> None:
    hot: HotEntries[int] = HotEntries(max_entries=3, max_bytes=1 << 20, ttl=10)
    for i in range(5):
        hot.put(f"k{i}", i, size=10)
    assert hot.get("k2") == 2  # used lately: kept over k3
    hot.put("k5", 5, size=10)
    assert [hot.get(f"k{i}") for i in range(6)] == [None, None, 2, None, 4, 5]


def test_entries_are_bounded_by_bytes() -> None:
    hot: HotEntries[str] = HotEntries(
        max_entries=100, max_bytes=3 * (ENTRY_OVERHEAD + 1000), ttl=10
    )
    for i in range(4):
        hot.put(f"k{i}", "v", size=1000)
    assert len(hot) == 3 and hot.get("k0") is None
    hot.put("huge", "v", size=1 << 20)  # more than the whole bound: not kept, nothing evicted
    assert hot.get("huge") is None and len(hot) == 3


def test_entries_expire() -> None:
    timer = Timer()
    hot: HotEntries[str] = HotEntries(max_entries=10, max_bytes=1 << 20, ttl=2, timer=timer)
    hot.put("k", "v", size=1)
    timer.now = 2.0
    assert hot.get("k") == "v"
    timer.now = 2.01
    assert hot.get("k") is None and len(hot) == 0


def test_drops_by_key_and_prefix() -> None:
    hot: HotEntries[str] = HotEntries(max_entries=10, max_bytes=1 << 20, ttl=10)
    for key in ("images/1/served/a", "images/1/served/b", "images/10/served/a"):
        hot.put(key, key, size=1)
    hot.drop_prefix("images/1/")
    assert hot.get("images/1/served/a") is None and hot.get("images/1/served/b") is None
    assert hot.get("images/10/served/a") == "images/10/served/a"
    hot.drop("images/10/served/a")
    assert len(hot) == 0


def test_a_fill_that_raced_with_a_drop_is_not_kept() -> None:
    hot: HotEntries[str] = HotEntries(max_entries=10, max_bytes=1 << 20, ttl=10)
    since = hot.generation  # a reader starts, then awaits the shared cache...
    hot.drop_prefix("images/1/")  # ...while a purge runs
    hot.put("images/1/served/a", "stale", size=1, since=since)
    assert hot.get("images/1/served/a") is None
    hot.put("images/1/served/a", "fresh", size=1, since=hot.generation)
    assert hot.get("images/1/served/a") == "fresh"


def test_off_when_it_has_no_room() -> None:
    hot: HotEntries[str] = HotEntries(max_entries=0, max_bytes=0, ttl=10)
    hot.put("k", "v", size=1)
    assert hot.get("k") is None
