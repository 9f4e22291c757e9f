"""(e) Peak memory of one Pixelpress process rendering 35 MP sources while it takes 35 MP
uploads: a fresh `pixelpress serve` takes copies of a 7000x5000 photo and makes their
renditions, then serves uncached 400 px renders of them (concurrency 8) while two clients
upload more copies, whose renditions it makes too. The figure is the process's `VmHWM` (the
kernel's exact resident peak over its whole life, so over all of that). A phase of `run.py`;
alone:

    .venv/bin/python bench/memory_load.py [--quick]     # prints one JSON object
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from photo import write_photo
from procstat import RssSampler, status_kib
from run import (
    FULL,
    LARGE_SOURCE,
    QUICK,
    PixelpressApi,
    Profile,
    load,
    measured,
    pixelpress_server,
    prepare_variants,
)

UPLOADERS = 2


def _mb(kib: int | None) -> float | None:
    return None if kib is None else round(kib / 1024, 1)


def _account(tmp: Path, data_dir: Path) -> str:
    """A user's token, made by a process of its own: its password hash (argon2id, 64 MiB) is
    no part of the load. The token serves the next process (same data dir, same key)."""
    setup = pixelpress_server(tmp, data_dir, "memory-load-setup").start()
    try:
        api = PixelpressApi(setup.base_url)
        try:
            api.register()
            return api.token
        finally:
            api.close()
    finally:
        setup.stop()


def phase_memory_load(tmp: Path, photo: bytes, profile: Profile) -> dict[str, Any]:
    """Renders `profile.memory` uncached 400 px JPEGs while `profile.memory_uploads` more
    uploads arrive; the renditions of every upload are waited for inside the measurement.
    `setup_vm_hwm_mb`: the peak before that load (the first uploads and their renditions)."""
    data_dir = tmp / "pixelpress-memory-load" / "data"
    token = _account(tmp, data_dir)
    with ExitStack() as stack:
        server = pixelpress_server(tmp, data_dir, "memory-load").start()
        stack.callback(server.stop)
        api = PixelpressApi(server.base_url)
        stack.callback(api.close)
        api.token = token
        started_hwm = status_kib(server.pid, "VmHWM")
        urls, renditions = prepare_variants(api, photo, profile.memory)
        setup_hwm = status_kib(server.pid, "VmHWM")
        idle = status_kib(server.pid, "VmRSS")
        with RssSampler(server.pid) as sampler, ThreadPoolExecutor(UPLOADERS) as pool:
            started = time.perf_counter()
            uploading = [pool.submit(api.upload, photo) for _ in range(profile.memory_uploads)]
            renders = measured(
                server.pid,
                lambda: load(tmp, urls, len(urls), check=True, deadline=profile.deadline_s),
            )
            ids = [future.result() for future in uploading]
            uploads_s = time.perf_counter() - started
            made = api.wait_renditions(ids, timeout=profile.deadline_s, grace=10)
        return {
            "vm_hwm_mb": _mb(status_kib(server.pid, "VmHWM")),
            "sampled_peak_rss_mb": _mb(sampler.peak_kib),
            "started_vm_hwm_mb": _mb(started_hwm),
            "setup_vm_hwm_mb": _mb(setup_hwm),
            "idle_rss_mb": _mb(idle),
            "renders": len(urls),
            "render_cpu_ms_per_image": renders["server_cpu_ms_per_request"],
            "render_p95_ms": renders["latency_ms"]["p95"],
            "uploads_during": len(ids),
            "uploaders": UPLOADERS,
            "uploads_s": round(uploads_s, 2),
            "renditions": renditions,
            "renditions_during": made,
        }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer requests and uploads")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="pixelpress-memory-load-"))
    try:
        photo = tmp / "photo-7000x5000.jpg"
        write_photo(photo, *LARGE_SOURCE)
        result = phase_memory_load(tmp, photo.read_bytes(), QUICK if args.quick else FULL)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
