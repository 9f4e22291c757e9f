"""Pixelpress benchmark: uncached render cost against raw pyvips and thumbor, cached hits against
a plain Starlette FileResponse and a bare ASGI app, peak memory on a large source, and cached
hits while uncached renders hammer the process. One command:

    .venv/bin/python bench/run.py [--quick] [--skip-thumbor] [--no-install]

Every server runs alone on a free loopback port and is stopped whatever happens; the figures
go to the console and to bench/results.json and bench/results.md (results-quick.* for
--quick). See bench/README.md for what is measured and how."""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import urlsplit

import httpx
import pyvips
from photo import write_photo
from procstat import RssSampler, cpu_seconds, status_kib
from report import comparisons, render_markdown
from servers import LOOPBACK, Server, ServerError, free_port

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
PYTHON = sys.executable
THUMBOR_VENV = HERE / ".venv-thumbor"
THUMBOR_BIN = THUMBOR_VENV / "bin" / "thumbor"
WRK = shutil.which("wrk")  # optional: used for (b) when installed (apt-get install wrk)

CONCURRENCY = 8
QUALITY = 80
# Each uncached request must be a new variant of the same work. Widths 400..419 keep libvips'
# shrink-on-load factor (and the output within 5% of the pixels of 400 px); past 20 variants
# the same bytes are uploaded again under a new image id (thumbor: a copy of the file).
WIDTHS = list(range(400, 420))
SOURCE = (4000, 3000)
LARGE_SOURCE = (7000, 5000)


@dataclass(frozen=True)
class Profile:
    name: str
    uncached: int
    uncached_warmup: int
    uncached_rounds: int  # (a)'s contenders take turns, so that a drift hits all alike
    cached: int  # httpx requests per server, over all rounds
    cached_warmup: int
    cached_rounds: int
    wrk_round_seconds: int
    wrk_warmup_seconds: int
    memory: int
    deadline_s: int  # any one load phase gives up after this long
    admission: int  # (d): uncached renders sent 32 at a time while hits are timed
    memory_uploads: int = 6  # (e): 35 MP uploads taken while rendering (memory_load.py)


FULL = Profile("full", 200, 16, 4, 2000, 200, 4, 3, 2, 100, 600, 320)
QUICK = Profile("quick", 40, 8, 2, 300, 50, 2, 2, 1, 24, 300, 96, 3)
PHASES = ("delivery", "memory", "admission", "memory_load")
ADMISSION_CONCURRENCY = 32
PROBE_CONCURRENCY = 1
ADMISSION_WARMUP = 8  # renders before (d)'s timed ones (see phase_admission)
PROBE_HEAD_START_S = 2.0  # loadgen's own start-up (imports) before the renders begin
RAW_WARMUP = 4  # renders each raw pyvips process makes before its timed ones


def variants(count: int) -> list[tuple[int, int]]:
    """(copy index, width) for `count` distinct renders of the same cost."""
    return [(i // len(WIDTHS), WIDTHS[i % len(WIDTHS)]) for i in range(count)]


# --- small helpers ---------------------------------------------------------------------------


def run_json(argv: list[str], timeout: float, cwd: Path | None = None) -> dict[str, Any]:
    """Runs a helper that prints one JSON object and returns it."""
    done = subprocess.run(  # noqa: S603 - our own argv, no shell
        argv, capture_output=True, text=True, timeout=timeout, cwd=cwd, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"{argv[1]} failed ({done.returncode}): {done.stderr[-2000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def load(
    tmp: Path,
    urls: list[tuple[str, int | None]],
    total: int,
    *,
    check: bool,
    deadline: float,
    concurrency: int = CONCURRENCY,
    refusals: bool = False,
) -> dict[str, Any]:
    """One closed-loop load phase through loadgen.py (its own process). With `refusals`, 503
    answers (admission control saying no) count as answers, not failures."""
    plan = write_plan(tmp, urls, total, concurrency, check, deadline)
    result = run_json([PYTHON, str(HERE / "loadgen.py"), str(plan)], timeout=deadline + 60)
    return all_good(result, total, refusals=refusals)


def all_good(result: dict[str, Any], total: int, *, refusals: bool = False) -> dict[str, Any]:
    """`result` of loadgen.py, if all `total` requests were answered well (or, with
    `refusals`, refused with 503)."""
    refused = result["statuses"].get("503", 0) if refusals else 0
    if result["completed"] < total or result["ok"] + refused < result["completed"]:
        raise RuntimeError(
            f"{result['ok']} of {total} requests were good ({result['statuses']}, "
            f"wrong output {result['wrong_output']}, timed out {result['timed_out']}): "
            f"{result['problems']}"
        )
    return result


def write_plan(
    tmp: Path,
    urls: list[tuple[str, int | None]],
    total: int,
    concurrency: int,
    check: bool,
    deadline: float,
) -> Path:
    """A loadgen.py plan file."""
    plan = tmp / f"plan-{time.monotonic_ns()}.json"
    body = {
        "urls": urls,
        "total": total,
        "concurrency": concurrency,
        "request_timeout": 120,
        "deadline": deadline,
        "check": check,
    }
    plan.write_text(json.dumps(body))
    return plan


def measured(pid: int, phase: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Runs `phase`, adding the server tree's CPU seconds spent meanwhile."""
    before, started = cpu_seconds(pid), time.perf_counter()
    result = phase()
    result["server_cpu_s"] = cpu_seconds(pid) - before
    result["phase_wall_s"] = time.perf_counter() - started
    count = result.get("completed") or result.get("requests") or 0
    result["server_cpu_ms_per_request"] = (
        result["server_cpu_s"] / count * 1000 if count else float("nan")
    )
    # Busy cores over the requests' own time (the client's start-up is not part of it).
    result["server_cores_busy"] = result["server_cpu_s"] / (
        result.get("wall_s") or result["phase_wall_s"]
    )
    return result


WRK_LATENCY = re.compile(r"^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s)\s*$", re.MULTILINE)
UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def wrk(url: str, seconds: int) -> dict[str, Any]:
    """wrk with one thread and CONCURRENCY connections for `seconds`."""
    argv = [
        WRK or "wrk",
        "-t1",
        f"-c{CONCURRENCY}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "--latency",
    ]
    done = subprocess.run(  # noqa: S603 - our own argv, no shell
        [*argv, url], capture_output=True, text=True, timeout=seconds + 60, check=False
    )
    out = done.stdout
    total = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)", out)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if done.returncode != 0 or total is None or rate is None:
        raise RuntimeError(f"wrk failed ({done.returncode}): {out[-1000:]} {done.stderr[-1000:]}")
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    if bad or errors:
        raise RuntimeError(f"wrk saw failures: {out[-1500:]}")
    return {
        "requests": int(total.group(1)),
        "seconds": seconds,
        "wall_s": float(total.group(2))
        * {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}[total.group(3)],
        "requests_per_s": float(rate.group(1)),
        "latency_ms": {
            f"p{p}": float(v) * UNIT_MS[unit] for p, v, unit in WRK_LATENCY.findall(out)
        },
    }


def machine() -> dict[str, Any]:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = re.search(r"^model name\s*:\s*(.*)$", cpuinfo, re.MULTILINE)
    family = re.search(r"^cpu family\s*:\s*(\d+)$", cpuinfo, re.MULTILINE)
    number = re.search(r"^model\s*:\s*(\d+)$", cpuinfo, re.MULTILINE)
    mhz = re.search(r"^cpu MHz\s*:\s*([\d.]+)$", cpuinfo, re.MULTILINE)
    meminfo = Path("/proc/meminfo").read_text()
    mem = re.search(r"^MemTotal:\s*(\d+)", meminfo, re.MULTILINE)
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_model": model.group(1).strip() if model else "unknown",
        "cpu_family_model": f"{family.group(1)}/{number.group(1)}" if family and number else "",
        "cpu_mhz": float(mhz.group(1)) if mhz else None,
        "hypervisor": "hypervisor" in cpuinfo.split("flags", 1)[-1].split("\n", 1)[0],
        "memory_gib": round(int(mem.group(1)) / 1024**2, 1) if mem else None,
        "kernel": platform.release(),
        "python": platform.python_version(),
    }


def versions() -> dict[str, Any]:
    found: dict[str, Any] = {
        "libvips": f"{pyvips.version(0)}.{pyvips.version(1)}.{pyvips.version(2)}",
        "pyvips": pyvips.__version__,
    }
    if THUMBOR_BIN.exists():
        probe = subprocess.run(  # noqa: S603
            [
                str(THUMBOR_VENV / "bin" / "python"),
                "-c",
                "import thumbor, PIL; print(thumbor.__version__, PIL.__version__)",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if probe.returncode == 0:
            found["thumbor"], found["pillow"] = probe.stdout.split()
    if WRK:
        probe = subprocess.run(  # noqa: S603
            [WRK, "-v"], capture_output=True, text=True, timeout=10, check=False
        )
        found["wrk"] = " ".join((probe.stdout + probe.stderr).split()[:2])
    return found


def service_state() -> dict[str, Any]:
    """Which Pixelpress code ran: the commit, and the files changed on top of it."""

    def git(*args: str) -> str:
        done = subprocess.run(  # noqa: S603
            [shutil.which("git") or "/usr/bin/git", "-C", str(REPO), *args],
            capture_output=True,
            text=True,
            timeout=30,
        )
        return done.stdout.strip()

    return {
        "commit": git("rev-parse", "HEAD"),
        "uncommitted_in_src": [
            line[3:] for line in git("status", "--porcelain", "--", "src").splitlines()
        ],
    }


# --- Pixelpress --------------------------------------------------------------------------------


def pixelpress_server(
    tmp: Path, data_dir: Path, name: str, extra: dict[str, str] | None = None
) -> Server:
    data_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIXELPRESS_")}
    env |= {
        "PIXELPRESS_DATA_DIR": str(data_dir),
        "PIXELPRESS_RATE_LIMIT_DEFAULT": "1000000",
        "PIXELPRESS_RATE_LIMIT_UPLOAD": "1000000",
        "PIXELPRESS_RATE_LIMIT_LOGIN": "1000000",
        "PIXELPRESS_RATE_LIMIT_TRANSFORM": "1000000",
        "PIXELPRESS_RATE_LIMIT_RENDER": "1000000",
        "PIXELPRESS_CPU_THREADS": "2",
        "PIXELPRESS_LOG_FORMAT": "text",
        "PIXELPRESS_MAX_PIXELS": "50000000",
        "PIXELPRESS_MAX_UPLOAD_BYTES": "50000000",
    } | (extra or {})
    executable = Path(PYTHON).with_name("pixelpress")
    argv = (
        [str(executable)]
        if executable.exists()
        else [PYTHON, "-c", "from pixelpress.cli import main; main()"]
    )
    return Server(
        name,
        [*argv, "serve", "--host", LOOPBACK, "--port", str(port)],
        port=port,
        env=env,
        cwd=data_dir.parent,  # not the repo: its .env must not configure the bench
        log_path=tmp / f"{name}.log",
        health_path="/readyz",
    )


class PixelpressApi:
    def __init__(self, base_url: str) -> None:
        self.client = httpx.Client(base_url=base_url, timeout=120)
        self.token = ""

    def close(self) -> None:
        self.client.close()

    def _ok(self, response: httpx.Response) -> dict[str, Any]:
        if response.status_code >= 300:
            raise RuntimeError(
                f"{response.request.method} {response.request.url.path}: "
                f"HTTP {response.status_code} {response.text[:300]}"
            )
        return dict(response.json())

    def register(self) -> None:
        body = {
            "username": "bench",
            "email": "bench@example.com",
            "password": "correct horse battery staple",
        }
        self.token = self._ok(self.client.post("/api/v1/auth/register", json=body))["access_token"]

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def upload(self, data: bytes) -> str:
        headers = self.auth | {"Content-Type": "image/jpeg"}
        return str(
            self._ok(self.client.post("/api/v1/images", content=data, headers=headers))["imageId"]
        )

    def mint(self, image_id: str, width: int) -> str:
        body = {
            "transformations": {"resize": {"width": width}, "format": "jpeg", "quality": QUALITY}
        }
        return str(
            self._ok(
                self.client.post(f"/api/v1/images/{image_id}/urls", json=body, headers=self.auth)
            )["url"]
        )

    def variants_of(self, image_id: str) -> list[dict[str, Any]]:
        found = self._ok(self.client.get(f"/api/v1/images/{image_id}", headers=self.auth))
        return list(found.get("variants") or [])

    def wait_renditions(self, ids: list[str], timeout: float, grace: float) -> dict[str, Any]:
        """Waits until every image's background work (its rendition) is done: each image has
        a variant and none is pending. An image with no variant after `grace` seconds has no
        rendition (a small source, or a service without them)."""
        started = time.monotonic()
        pending = set(ids)
        seen: dict[str, dict[str, Any]] = {}
        while pending:
            for image_id in sorted(pending):
                found = self.variants_of(image_id)
                if any(v.get("status") == "failed" for v in found):
                    raise RuntimeError(f"a background variant of {image_id} failed: {found}")
                waited = time.monotonic() - started
                if found and all(v.get("status") == "ready" for v in found):
                    seen[image_id] = max(found, key=lambda v: v.get("width") or 0)  # the top
                    pending.discard(image_id)
                elif not found and waited > grace:
                    pending.discard(image_id)
            if pending and time.monotonic() - started > timeout:
                raise RuntimeError(f"renditions not ready after {timeout:.0f}s: {sorted(pending)}")
            if pending:
                time.sleep(0.25)
        first = next(iter(seen.values()), None)
        return {
            "images": len(ids),
            "with_rendition": len(seen),
            "waited_s": round(time.monotonic() - started, 2),
            "rendition": (
                {k: first.get(k) for k in ("width", "height", "size", "format", "spec")}
                if first
                else None
            ),
        }


def prepare_variants(
    api: PixelpressApi, photo: bytes, count: int
) -> tuple[list[tuple[str, int | None]], dict[str, Any]]:
    """`count` signed URLs of distinct, not yet rendered variants, uploading copies as needed,
    once the service has finished its own work on the uploads (the renditions)."""
    plan = variants(count)
    ids = [api.upload(photo) for _ in range(plan[-1][0] + 1)]
    renditions = api.wait_renditions(ids, timeout=300, grace=10)
    return [(api.mint(ids[copy], width), width) for copy, width in plan], renditions


def rebase(url: str, base_url: str) -> str:
    """The same signed path on another server address (the signature covers the path only)."""
    return base_url + urlsplit(url).path


# --- the phases --------------------------------------------------------------------------------


def make_masters(photo: Path, tmp: Path) -> dict[str, Path]:
    """Stand-ins for Pixelpress's rendition of `photo`: 2048 px inside, Q=92, optimised Huffman
    tables, as a baseline JPEG (what the service stores now) and as a progressive one (what it
    stored before: libvips cannot shrink a progressive JPEG while decoding it)."""
    master = pyvips.Image.thumbnail(str(photo), 2048, height=2048).copy_memory()
    paths = {"progressive": tmp / "master-progressive.jpg", "baseline": tmp / "master-baseline.jpg"}
    for kind, path in paths.items():
        master.jpegsave(
            str(path), Q=92, optimize_coding=True, interlace=kind == "progressive", keep="none"
        )
    return paths


def raw_vips_round(
    tmp: Path, source: Path, widths: list[int], encoder: str, label: str, deadline: float
) -> dict[str, Any]:
    """One round of raw pyvips: a fresh process renders RAW_WARMUP widths, then `widths`."""
    plan = tmp / f"raw-{label}-{time.monotonic_ns()}.json"
    plan.write_text(
        json.dumps(
            {
                "source": str(source),
                "widths": widths[:RAW_WARMUP] + widths,
                "threads": CONCURRENCY,
                "quality": QUALITY,
                "encoder": encoder,
                "warmup": RAW_WARMUP,
            }
        )
    )
    result = run_json([PYTHON, str(HERE / "raw_vips.py"), str(plan)], timeout=deadline)
    if result["problems"]:
        raise RuntimeError(f"raw pyvips: {result['problems']}")
    return result | {"source": source.name, "encoder": encoder}


def combine_raw(parts: list[dict[str, Any]]) -> dict[str, Any]:
    images = sum(p["images"] for p in parts)
    cpu, wall = sum(p["cpu_s"] for p in parts), sum(p["wall_s"] for p in parts)
    return parts[0] | {
        "rounds": len(parts),
        "images": images,
        "cpu_s": cpu,
        "wall_s": wall,
        "cpu_ms_per_image": cpu / images * 1000 if images else float("nan"),
        "images_per_s": images / wall if wall > 0 else 0.0,
        "rounds_cpu_ms_per_image": [round(p["cpu_ms_per_image"], 1) for p in parts],
    }


def chunks(items: list[Any], count: int) -> list[list[Any]]:
    size = max(1, len(items) // count)
    return [items[i * size : (i + 1) * size] for i in range(count)]


def phase_delivery(
    tmp: Path,
    photo: Path,
    masters: dict[str, Path],
    profile: Profile,
    phases: dict[str, Any],
    thumbor: bool,
    install: bool,
) -> None:
    """(a) uncached renders: Pixelpress (rendition ready, then before it exists), thumbor and
    raw pyvips (of the original and of rendition-like masters) take turns in
    `profile.uncached_rounds` rounds; then (b) Pixelpress's cached hits against the Starlette
    baseline, both servers up and measured in alternating rounds."""
    count = profile.uncached_warmup + profile.uncached
    with ExitStack() as stack:
        server = pixelpress_server(tmp, tmp / "pixelpress" / "data", "pixelpress").start()
        stack.callback(server.stop)
        api = PixelpressApi(server.base_url)
        stack.callback(api.close)
        api.register()
        ready, phases["pixelpress_renditions"] = prepare_variants(api, photo.read_bytes(), count)
        # Before a rendition exists: new uploads whose rendition files are removed, so every
        # render reads the original (plus one failed read of the rendition: a cost that only
        # counts against Pixelpress).
        original, _ = prepare_variants(api, photo.read_bytes(), count)
        blobs = tmp / "pixelpress" / "data" / "blobs" / "images"
        for image_id in {url.rsplit("/", 1)[-1] for url, _ in original}:
            for rendition in (blobs / image_id / "variants").glob("*"):
                rendition.unlink()
        servers: dict[str, tuple[int, list[tuple[str, int | None]]]] = {
            "pixelpress_uncached": (server.pid, ready),
            "pixelpress_uncached_original": (server.pid, original),
        }
        thumbor_stack = stack.enter_context(ExitStack())
        if thumbor:
            try:
                ensure_thumbor(install)
                started, urls = thumbor_server(tmp, photo, count)
                thumbor_stack.callback(started.stop)
                started.start()
                servers["thumbor_uncached"] = (started.pid, urls)
            except (ServerError, RuntimeError, OSError) as exc:
                phases.setdefault("errors", {})["thumbor"] = f"{type(exc).__name__}: {exc}"
        widths = [w for _, w in variants(count)][profile.uncached_warmup :]
        raws = {"raw_vips": (photo, "plain")} | {
            f"raw_vips_master_{kind}": (path, "optimized") for kind, path in masters.items()
        }

        for _pid, urls in servers.values():
            warm = urls[: profile.uncached_warmup]
            load(tmp, warm, len(warm), check=True, deadline=profile.deadline_s)
        rounds: dict[str, list[dict[str, Any]]] = {}
        for turn in range(profile.uncached_rounds):
            for key, (pid, urls) in servers.items():
                part = chunks(urls[profile.uncached_warmup :], profile.uncached_rounds)[turn]
                rounds.setdefault(key, []).append(
                    measured(
                        pid,
                        lambda part=part: load(
                            tmp, part, len(part), check=True, deadline=profile.deadline_s
                        ),
                    )
                )
            for key, (source, encoder) in raws.items():
                part = chunks(widths, profile.uncached_rounds)[turn]
                rounds.setdefault(key, []).append(
                    raw_vips_round(tmp, source, part, encoder, key, profile.deadline_s)
                )
        for key, parts in rounds.items():
            phases[key] = combine_raw(parts) if key in raws else combine(parts)
        thumbor_stack.close()  # idle from here on; (b) runs without it

        # (b) One already rendered URL (the first warm-up variant), fetched again and again.
        hit_url = ready[0][0]
        first = api.client.get(hit_url)
        if first.status_code != 200:
            raise RuntimeError(f"cached URL answered {first.status_code}")
        phases["cached_url_headers"] = {
            k: first.headers.get(k, "") for k in ("etag", "cache-control", "content-length")
        }
        targets = {"pixelpress": (server, hit_url)}
        try:
            # Information: the same hit from a process that keeps no bytes in its cache (as
            # for variants over the inline limit): the record from the cache, the file sent.
            files = pixelpress_server(
                tmp,
                tmp / "pixelpress" / "data",
                "pixelpress-files",
                {"PIXELPRESS_DELIVERY_INLINE_BYTES": "0"},
            )
            stack.callback(files.stop)
            files.start()
            targets["pixelpress_files"] = (files, rebase(hit_url, files.base_url))
        except (ServerError, OSError) as exc:
            phases.setdefault("errors", {})["pixelpress_files"] = f"{type(exc).__name__}: {exc}"
        for name, module, path in (
            ("static", "static_app", "/image.jpg"),
            ("bare", "bare_app", "/image.jpg"),
        ):
            try:
                baseline = baseline_server(tmp, first.content, module)
                stack.callback(baseline.stop)
                baseline.start()
                targets[name] = (baseline, baseline.base_url + path)
            except (ServerError, OSError) as exc:
                phases.setdefault("errors", {})[name] = f"{type(exc).__name__}: {exc}"
        cached_rounds(targets, profile, tmp, phases)


def baseline_server(tmp: Path, body: bytes, module: str) -> Server:
    """A baseline under uvicorn (same defaults as `pixelpress serve`: uvloop, httptools, access
    log on) serving `body`: static_app.py (a Starlette FileResponse of a file holding it) or
    bare_app.py (a bare ASGI callable answering it from memory)."""
    path = tmp / module / "rendered.jpg"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(body)
    port = free_port()
    env = dict(os.environ) | {"BENCH_STATIC_FILE": str(path), "BENCH_BARE_FILE": str(path)}
    argv = [PYTHON, "-m", "uvicorn", "--app-dir", str(HERE), f"{module}:app"]
    return Server(
        module,
        [*argv, "--host", LOOPBACK, "--port", str(port)],
        port=port,
        env=env,
        cwd=tmp,
        log_path=tmp / f"{module}.log",
        health_path="/healthz",
    )


def cached_rounds(
    targets: dict[str, tuple[Server, str]], profile: Profile, tmp: Path, phases: dict[str, Any]
) -> None:
    """Warm-up, then `profile.cached_rounds` rounds in which each server in turn takes its
    share of the load (httpx, then wrk): a drift of the machine's speed hits all alike. Each
    figure adds up its rounds; `rounds_rps` keeps them one by one."""
    for _server, url in targets.values():
        load(tmp, [(url, None)], profile.cached_warmup, check=False, deadline=profile.deadline_s)
        if WRK:
            wrk(url, profile.wrk_warmup_seconds)
    per_round = max(1, profile.cached // profile.cached_rounds)
    rounds: dict[str, list[dict[str, Any]]] = {}
    for _ in range(profile.cached_rounds):
        for name, (server, url) in targets.items():
            rounds.setdefault(f"{name}_cached_httpx", []).append(
                measured(
                    server.pid,
                    lambda url=url: load(
                        tmp, [(url, None)], per_round, check=False, deadline=profile.deadline_s
                    ),
                )
            )
            if WRK:
                rounds.setdefault(f"{name}_cached_wrk", []).append(
                    measured(server.pid, lambda url=url: wrk(url, profile.wrk_round_seconds))
                )
    for key, parts in rounds.items():
        phases[key] = combine(parts)


def combine(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """Rounds of one server and client as one figure: totals over the summed time."""
    requests = sum(p.get("completed") or p.get("requests") or 0 for p in parts)
    wall = sum(p["wall_s"] for p in parts)  # the requests' own time, without client start-up
    cpu = sum(p["server_cpu_s"] for p in parts)
    return {
        "rounds": len(parts),
        "requests": requests,
        "wall_s": wall,
        "requests_per_s": requests / wall if wall else 0.0,
        "rounds_rps": [round(p["requests_per_s"], 1) for p in parts],
        "server_cpu_s": cpu,
        "server_cpu_ms_per_request": cpu / requests * 1000 if requests else float("nan"),
        "server_cores_busy": cpu / wall if wall else 0.0,
        "rounds_cpu_ms_per_request": [round(p["server_cpu_ms_per_request"], 3) for p in parts],
        # The median round's p50; the worst round's tail.
        "latency_ms": {
            "p50": statistics.median(p["latency_ms"]["p50"] for p in parts),
            "p95": max(
                (v for p in parts if not math.isnan(v := p["latency_ms"].get("p95", math.nan))),
                default=math.nan,
            ),
            "p99": max(p["latency_ms"]["p99"] for p in parts),
        },
    }


def ensure_thumbor(install: bool) -> None:
    if THUMBOR_BIN.exists():
        return
    if not install:
        raise RuntimeError(f"{THUMBOR_BIN} is missing (run bench/setup_thumbor.sh)")
    done = subprocess.run(  # noqa: S603
        [shutil.which("bash") or "/bin/bash", str(HERE / "setup_thumbor.sh")],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if done.returncode != 0 or not THUMBOR_BIN.exists():
        raise RuntimeError(
            f"could not install thumbor 7 into {THUMBOR_VENV}: {done.stderr[-1500:].strip()}"
        )


def thumbor_server(
    tmp: Path, photo: Path, count: int
) -> tuple[Server, list[tuple[str, int | None]]]:
    """thumbor 7 (not started yet) and `count` URLs of distinct renders of copies of `photo`."""
    plan = variants(count)
    root = tmp / "thumbor" / "images"
    root.mkdir(parents=True, exist_ok=True)
    for copy in range(plan[-1][0] + 1):
        shutil.copyfile(photo, root / f"photo-{copy:02d}.jpg")
    conf = tmp / "thumbor" / "thumbor.conf"
    # RESULT_STORAGE stays unset (None): nothing rendered is kept. No original storage either,
    # so every request loads the file through the file loader and renders it.
    conf.write_text(
        "LOADER = 'thumbor.loaders.file_loader'\n"
        f"FILE_LOADER_ROOT_PATH = {str(root)!r}\n"
        "STORAGE = 'thumbor.storages.no_storage'\n"
        "ENGINE = 'thumbor.engines.pil'\n"
        "ALLOW_UNSAFE_URL = True\n"
        "AUTO_WEBP = False\n"
    )
    port = free_port()
    server = Server(
        "thumbor",
        [
            str(THUMBOR_BIN),
            "--ip",
            LOOPBACK,
            "--port",
            str(port),
            "--conf",
            str(conf),
            "--processes",
            "2",  # one per core: a single thumbor process renders on one core only
            "--log-level",
            "warning",
        ],
        port=port,
        env=dict(os.environ),
        cwd=tmp / "thumbor",
        log_path=tmp / "thumbor.log",
        health_path="/healthcheck",
    )
    urls: list[tuple[str, int | None]] = [
        (f"{server.base_url}/unsafe/{w}x0/filters:quality({QUALITY})/photo-{c:02d}.jpg", w)
        for c, w in plan
    ]
    return server, urls


def prepared_elsewhere(
    tmp: Path, data_dir: Path, photo: bytes, count: int
) -> tuple[list[tuple[str, int | None]], dict[str, Any], int | None]:
    """`count` new variants' URLs, their uploads and renditions made by a server process of
    their own on `data_dir` (stopped after), so that a process started later for the load
    has a VmHWM of that load alone: (URLs, renditions, that earlier process's VmHWM)."""
    with ExitStack() as stack:
        setup = pixelpress_server(tmp, data_dir, f"{data_dir.parent.name}-setup").start()
        stack.callback(setup.stop)
        api = PixelpressApi(setup.base_url)
        stack.callback(api.close)
        api.register()
        urls, renditions = prepare_variants(api, photo, count)
        return urls, renditions, status_kib(setup.pid, "VmHWM")


def phase_memory(tmp: Path, photo: bytes, profile: Profile) -> dict[str, Any]:
    """(c) A fresh server process (so VmHWM covers this load only) rendering uncached 400 px
    JPEGs of a 7000x5000 source. The uploads happen on an earlier process."""
    data_dir = tmp / "pixelpress-memory" / "data"
    urls, renditions, setup_hwm = prepared_elsewhere(tmp, data_dir, photo, profile.memory)
    with ExitStack() as stack:
        server = pixelpress_server(tmp, data_dir, "pixelpress-memory").start()
        stack.callback(server.stop)
        urls = [(rebase(u, server.base_url), w) for u, w in urls]
        idle = status_kib(server.pid, "VmRSS")
        with RssSampler(server.pid) as sampler:
            result = measured(
                server.pid,
                lambda: load(tmp, urls, len(urls), check=True, deadline=profile.deadline_s),
            )
        result |= {
            "vm_hwm_kib": status_kib(server.pid, "VmHWM"),
            "sampled_peak_rss_kib": sampler.peak_kib,
            "rss_samples": sampler.samples,
            "idle_rss_kib": idle,
            "setup_process_vm_hwm_kib": setup_hwm,
            "renditions": renditions,
        }
        return result


def loadgen_process(plan: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(  # noqa: S603 - our own argv, no shell
        [PYTHON, str(HERE / "loadgen.py"), str(plan)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def loadgen_result(process: subprocess.Popen[str], stop: bool = False) -> dict[str, Any]:
    """What a loadgen.py process printed, once it is done (told to stop, with `stop`)."""
    if stop:
        process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=600)
    if process.returncode != 0 or not out.strip():
        raise RuntimeError(f"loadgen failed ({process.returncode}): {err[-1000:]}")
    return dict(json.loads(out.strip().splitlines()[-1]))


def hits_under_renders(
    tmp: Path, hit: str, renders: list[tuple[str, int | None]], deadline: float
) -> tuple[dict[str, Any], dict[str, Any], bool]:
    """(the hits' figures, the renders' figures, whether the probe was still timing hits when
    the renders ended). The renders go through loadgen.py, ADMISSION_CONCURRENCY at a time; a
    loadgen.py probe (PROBE_CONCURRENCY connection) starts before them and is stopped when
    they end. (wrk would time hits from C, but with one connection it asks as fast as it can,
    and it runs for a fixed time, not for as long as the renders do.)"""
    probe_plan = write_plan(tmp, [(hit, None)], 10**9, PROBE_CONCURRENCY, False, deadline)
    probe = loadgen_process(probe_plan)
    try:
        time.sleep(PROBE_HEAD_START_S)
        rendered = load(
            tmp, renders, len(renders), check=True, deadline=deadline,
            concurrency=ADMISSION_CONCURRENCY, refusals=True,
        )  # fmt: skip
        covered = probe.poll() is None
    finally:
        hits = all_good(loadgen_result(probe, stop=True), 0)
    return hits, rendered, covered


def phase_admission(tmp: Path, photo: bytes, profile: Profile) -> dict[str, Any]:
    """(d) Cached hits while uncached renders hammer the same process: a fresh server process
    (uploads and renditions made by an earlier one on the same data, so that VmHWM covers this
    load only) takes `profile.admission` new variants, ADMISSION_CONCURRENCY at a time, while
    a probe (loadgen.py, PROBE_CONCURRENCY connection) fetches one rendered URL again and again
    (see `hits_under_renders`). Renders beyond the process's slots wait
    briefly, then get 503 (admission control): counted, not failures."""
    data_dir = tmp / "pixelpress-admission" / "data"
    count = 1 + ADMISSION_WARMUP + profile.admission
    urls, renditions, _ = prepared_elsewhere(tmp, data_dir, photo, count)
    with ExitStack() as stack:
        server = pixelpress_server(tmp, data_dir, "pixelpress-admission").start()
        stack.callback(server.stop)
        urls = [(rebase(u, server.base_url), w) for u, w in urls]
        hit, warmup = urls[0][0], urls[1 : 1 + ADMISSION_WARMUP]
        renders = urls[1 + ADMISSION_WARMUP :]
        # A process's first renders pay one-time costs (statements compiled, libvips'
        # operations looked up) on its event loop: not what this phase is about.
        load(tmp, warmup, len(warmup), check=True, deadline=profile.deadline_s)
        first = httpx.get(hit, timeout=120)
        if first.status_code != 200:
            raise RuntimeError(f"the probe's URL answered {first.status_code}")
        with RssSampler(server.pid) as sampler:
            hits, hammer, covered = hits_under_renders(tmp, hit, renders, profile.deadline_s)
        return {
            "hits": hits,
            "renders": hammer,
            "refused": hammer["statuses"].get("503", 0),
            "probe": "httpx",
            "probe_covered_the_renders": covered,
            "vm_hwm_kib": status_kib(server.pid, "VmHWM"),
            "sampled_peak_rss_kib": sampler.peak_kib,
            "renditions": renditions,
        }


# --- main --------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer requests: a smoke test")
    parser.add_argument("--skip-thumbor", action="store_true", help="leave thumbor out")
    parser.add_argument(
        "--no-install", action="store_true", help="do not create bench/.venv-thumbor if missing"
    )
    parser.add_argument("--keep-tmp", action="store_true", help="keep the work dir and logs")
    parser.add_argument(
        "--only",
        action="append",
        choices=PHASES,
        help="run only this phase (repeatable): delivery is (a) and (b), memory (c), admission (d)",
    )
    args = parser.parse_args()
    chosen = set(args.only or PHASES)
    profile = QUICK if args.quick else FULL
    stem = "results-quick" if args.quick else "results"
    if args.only:  # a partial run never overwrites the full report
        stem += "-only-" + "-".join(sorted(chosen))

    def interrupted(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, interrupted)

    tmp = Path(tempfile.mkdtemp(prefix="pixelpress-bench-"))
    started = time.time()
    results: dict[str, Any] = {
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
        "profile": asdict(profile)
        | {"concurrency": CONCURRENCY, "widths": [WIDTHS[0], WIDTHS[-1]]},
        "machine": machine(),
        "service": service_state(),
        "errors": {},
    }

    def attempt(name: str, step: Callable[[], Any]) -> Any:
        print(f"[bench] {name} …", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        try:
            value = step()
        except KeyboardInterrupt:
            raise
        except Exception as exc:
            results["errors"][name] = f"{type(exc).__name__}: {exc}"
            print(f"[bench] {name} failed: {exc}", file=sys.stderr, flush=True)
            if not isinstance(exc, ServerError | RuntimeError):
                traceback.print_exc()
            return None
        print(
            f"[bench] {name} done in {time.perf_counter() - t0:.1f}s", file=sys.stderr, flush=True
        )
        return value

    try:
        photo = tmp / "photo.jpg"
        large = tmp / "photo-7000x5000.jpg"
        sizes = attempt(
            "photos",
            lambda: (write_photo(photo, *SOURCE), write_photo(large, *LARGE_SOURCE)),
        )
        if sizes is None:
            raise SystemExit("could not generate the test photos")
        results["photos"] = {
            "source": {"size": list(SOURCE), "bytes": sizes[0]},
            "large": {"size": list(LARGE_SOURCE), "bytes": sizes[1]},
        }
        phases = results.setdefault("phases", {})
        masters = attempt("rendition stand-ins", lambda: make_masters(photo, tmp)) or {}
        if args.skip_thumbor:
            results["errors"]["thumbor"] = "skipped (--skip-thumbor)"
        if "delivery" in chosen:
            attempt(
                "uncached renders (Pixelpress, thumbor, raw pyvips in turns), then cached hits "
                "against Starlette FileResponse and a bare ASGI app",
                lambda: phase_delivery(
                    tmp,
                    photo,
                    masters,
                    profile,
                    phases,
                    thumbor=not args.skip_thumbor,
                    install=not args.no_install,
                ),
            )
        if "errors" in phases:
            results["errors"].update(phases.pop("errors"))
        if "memory" in chosen:
            phases["pixelpress_memory"] = attempt(
                "Pixelpress memory (7000x5000)",
                lambda: phase_memory(tmp, large.read_bytes(), profile),
            )
        if "admission" in chosen:
            phases["pixelpress_admission"] = attempt(
                f"cached hits while {ADMISSION_CONCURRENCY} uncached renders at a time hammer "
                "the process",
                lambda: phase_admission(tmp, photo.read_bytes(), profile),
            )
        if "memory_load" in chosen:
            import memory_load  # here: it imports this module (and runs alone too)

            phases["pixelpress_memory_load"] = attempt(
                "Pixelpress memory, rendering while taking uploads (7000x5000)",
                lambda: memory_load.phase_memory_load(tmp, large.read_bytes(), profile),
            )
    finally:
        results["duration_s"] = round(time.time() - started, 1)
        results["versions"] = versions()
        if args.keep_tmp:
            print(f"[bench] work dir kept: {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    results["comparisons"] = comparisons(results)
    markdown = render_markdown(results)
    (HERE / f"{stem}.json").write_text(json.dumps(_no_nan(results), indent=2) + "\n")
    (HERE / f"{stem}.md").write_text(markdown)
    print(markdown)
    return 0


def _no_nan(value: Any) -> Any:
    """JSON has no NaN: a figure that could not be computed is null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _no_nan(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_no_nan(v) for v in value]
    return value


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt as exc:
        print(f"[bench] interrupted ({exc}); every server was stopped", file=sys.stderr)
        sys.exit(130)
