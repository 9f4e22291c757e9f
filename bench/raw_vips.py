"""The floor: libvips' own `thumbnail` in a plain process, no HTTP, no service around it.

    python raw_vips.py PLAN.json  ->  one JSON object on stdout

The plan: {"source": path, "widths": [...], "threads": 8, "quality": 80,
"encoder": "plain" | "optimized", "warmup": N}. Each width is one thumbnail + JPEG encode;
`threads` threads take them from a shared queue. The CPU is this whole process's (every
thread), from getrusage, around the timed part only."""

from __future__ import annotations

import json
import queue
import resource
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pyvips

# "optimized": what Pixelpress's encoder adds for a JPEG (adapters/vips/pixels.py, `encode`, as
# of this writing): Huffman tables optimised per image, no metadata, baseline.
OPTIMIZED = {"optimize_coding": True, "keep": "none"}


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def render(source: str, width: int, quality: int, options: dict[str, Any]) -> bytes:
    image = pyvips.Image.thumbnail(source, width)
    return bytes(image.jpegsave_buffer(Q=quality, **options))


def run(plan: dict[str, Any]) -> dict[str, Any]:
    pyvips.cache_set_max(0)  # the same file again must not be an operation-cache hit
    source = str(plan["source"])
    quality = int(plan.get("quality", 80))
    options = OPTIMIZED if plan.get("encoder") == "optimized" else {}
    for width in plan["widths"][: int(plan.get("warmup", 0))]:
        render(source, width, quality, options)

    todo: queue.Queue[int] = queue.Queue()
    for width in plan["widths"][int(plan.get("warmup", 0)) :]:
        todo.put(width)
    count = todo.qsize()
    problems: list[str] = []
    sizes: list[int] = []

    def worker() -> None:
        while True:
            try:
                width = todo.get_nowait()
            except queue.Empty:
                return
            try:
                data = render(source, width, quality, options)
                out = pyvips.Image.new_from_buffer(data, "")
                if out.width != width:
                    problems.append(f"width {width} gave {out.width}")
                sizes.append(len(data))
            except pyvips.Error as exc:  # pragma: no cover - reported, not raised
                problems.append(repr(exc))

    threads = [threading.Thread(target=worker) for _ in range(int(plan.get("threads", 8)))]
    cpu_before, wall_before = _cpu(), time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    cpu, wall = _cpu() - cpu_before, time.perf_counter() - wall_before
    return {
        "images": count,
        "cpu_s": cpu,
        "wall_s": wall,
        "cpu_ms_per_image": cpu / count * 1000 if count else float("nan"),
        "images_per_s": count / wall if wall > 0 else 0.0,
        "mean_output_bytes": sum(sizes) / len(sizes) if sizes else 0,
        "problems": problems[:5],
        "libvips": f"{pyvips.version(0)}.{pyvips.version(1)}.{pyvips.version(2)}",
    }


def main() -> None:
    plan = json.loads(Path(sys.argv[1]).read_text())
    print(json.dumps(run(plan)))


if __name__ == "__main__":
    main()
