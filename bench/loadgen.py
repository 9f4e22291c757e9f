"""A small closed-loop HTTP load client: a fixed number of GETs at a fixed concurrency over
keep-alive connections, bounded in time. It runs in its own process so that its CPU is never
counted against the server under test.

    python loadgen.py PLAN.json   ->  one JSON object on stdout

The plan: {"urls": [[url, expected_width_or_null], ...], "total": N, "concurrency": 8,
"request_timeout": 120, "deadline": 600, "check": true}. The URLs are taken in order and
cycled until `total` requests have been sent; with `check`, every response must be a JPEG of
the expected width (read from its SOF header).

SIGTERM ends the run early but cleanly: the requests in flight finish and the figures so far
are printed (a probe that runs for as long as another load does)."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

SOF_MARKERS = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def jpeg_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a JPEG's frame header, or None if this is not a JPEG."""
    if not data.startswith(b"\xff\xd8"):
        return None
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        if marker in SOF_MARKERS and pos + 9 <= len(data):
            height = int.from_bytes(data[pos + 5 : pos + 7], "big")
            width = int.from_bytes(data[pos + 7 : pos + 9], "big")
            return width, height
        pos += 2 + length
    return None


def percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, round(fraction * (len(sorted_values) - 1)))
    return sorted_values[index]


async def run(plan: dict[str, Any]) -> dict[str, Any]:
    urls: list[tuple[str, int | None]] = [(u, w) for u, w in plan["urls"]]
    total = int(plan["total"])
    concurrency = int(plan.get("concurrency", 8))
    check = bool(plan.get("check", False))
    deadline = float(plan.get("deadline", 600))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    timeout = httpx.Timeout(float(plan.get("request_timeout", 120)))

    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    problems: list[str] = []
    wrong_output = 0
    body_bytes = 0
    next_index = 0

    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    async with httpx.AsyncClient(limits=limits, timeout=timeout) as client:

        async def worker() -> None:
            nonlocal next_index, wrong_output, body_bytes
            while next_index < total and not stop.is_set():
                url, width = urls[next_index % len(urls)]
                next_index += 1
                started = time.perf_counter()
                try:
                    response = await client.get(url)
                except httpx.HTTPError as exc:
                    statuses[type(exc).__name__] += 1
                    if len(problems) < 5:
                        problems.append(f"{url}: {exc!r}")
                    continue
                latencies.append(time.perf_counter() - started)
                statuses[str(response.status_code)] += 1
                body_bytes += len(response.content)
                if response.status_code != 200:
                    if len(problems) < 5:
                        problems.append(f"{url}: HTTP {response.status_code} {response.text[:200]}")
                    continue
                if check:
                    size = jpeg_size(response.content)
                    if size is None or (width is not None and size[0] != width):
                        wrong_output += 1
                        if len(problems) < 5:
                            kind = response.headers.get("content-type")
                            problems.append(f"{url}: expected width {width}, got {size} ({kind})")

        started = time.perf_counter()
        tasks = [asyncio.create_task(worker()) for _ in range(concurrency)]
        done, pending = await asyncio.wait(tasks, timeout=deadline)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        for task in done:
            if task.exception() is not None:
                problems.append(f"worker failed: {task.exception()!r}")
        wall = time.perf_counter() - started

    latencies.sort()
    completed = len(latencies)
    return {
        "requested": total,
        "completed": completed,
        "ok": statuses.get("200", 0) - wrong_output,
        "statuses": dict(statuses),
        "wrong_output": wrong_output,
        "timed_out": bool(pending),
        "stopped": stop.is_set(),
        "problems": problems,
        "wall_s": wall,
        "requests_per_s": completed / wall if wall > 0 else 0.0,
        "bytes": body_bytes,
        "latency_ms": {
            "p50": percentile(latencies, 0.50) * 1000,
            "p95": percentile(latencies, 0.95) * 1000,
            "p99": percentile(latencies, 0.99) * 1000,
            "max": (latencies[-1] * 1000) if latencies else float("nan"),
        },
    }


def main() -> None:
    plan = json.loads(Path(sys.argv[1]).read_text())
    print(json.dumps(asyncio.run(run(plan))))


if __name__ == "__main__":
    main()
