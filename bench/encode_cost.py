"""AVIF against WebP at the same output size: encode CPU time for the same 1600x1200
photographic image, WebP at q70 (effort 4) against AVIF at q60, which lands at about the same
size, at the effort Pixelpress uses (1) and at higher ones. Target: AVIF within about twice
WebP's cost at the same size."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pyvips

sys.path.insert(0, str(Path(__file__).resolve().parent))
from photo import make_photo

ROUNDS = 5


def cost(image: pyvips.Image, suffix: str, **options: object) -> tuple[float, int]:
    """(best CPU seconds of ROUNDS encodes, bytes): libvips uses its own threads, so CPU time of
    this process is the fair measure."""
    best, size = float("inf"), 0
    for _ in range(ROUNDS):
        started = time.process_time()
        data = image.write_to_buffer(suffix, **options)
        best = min(best, time.process_time() - started)
        size = len(data)
    return best, size


def main() -> int:
    image = make_photo(1600, 1200).copy_memory()
    webp = cost(image, ".webp", Q=70, effort=4, keep="none")
    rows = {"webp q70 effort 4": webp}
    for effort in (1, 2, 3):
        rows[f"avif q60 effort {effort}"] = cost(
            image, ".avif", Q=60, effort=effort, compression="av1", keep="none"
        )
    result = {
        name: {
            "cpu_ms": round(cpu * 1000, 1),
            "bytes": size,
            "cost_vs_webp": round(cpu / webp[0], 2),
        }
        for name, (cpu, size) in rows.items()
    }
    print(json.dumps(result, indent=2))
    (Path(__file__).resolve().parent / "encode_cost.json").write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
