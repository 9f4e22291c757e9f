"""The figures as a table: absolute numbers per phase, then each ratio against its target."""

from __future__ import annotations

import math
from typing import Any

MB = 1_000_000


def _get(results: dict[str, Any], *path: str) -> Any:
    value: Any = results
    for key in path:
        if not isinstance(value, dict) or value.get(key) is None:
            return None
        value = value[key]
    return value


def _fmt(value: Any, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return str(value)


def comparisons(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target: the measured value (a ratio, or MB), the target and PASS/MISS (or n/a)."""
    phases = results.get("phases", {})
    errors = results.get("errors", {})
    out: list[dict[str, Any]] = []

    def ratio(a: Any, b: Any) -> float | None:
        if a is None or b is None or b == 0:
            return None
        return float(a) / float(b)

    def add(
        name: str,
        value: float | None,
        op: str,
        target: float,
        note: str,
        missing: str = "",
        informative: bool = False,
    ) -> None:
        if value is None:
            verdict = "n/a"
        elif op == "<=":
            verdict = "PASS" if value <= target else "MISS"
        elif op == ">=":
            verdict = "PASS" if value >= target else "MISS"
        else:
            verdict = "PASS" if value < target else "MISS"
        if informative and value is not None:
            verdict = f"({verdict}, info)"
        out.append(
            {
                "name": name,
                "value": value,
                "op": op,
                "target": target,
                "verdict": verdict,
                "note": note if value is not None else (missing or note),
            }
        )

    pp_cpu = _get(phases, "pixelpress_uncached", "server_cpu_ms_per_request")
    thumbor_cpu = _get(phases, "thumbor_uncached", "server_cpu_ms_per_request")
    thumbor_missing = "thumbor unavailable: " + str(errors.get("thumbor", "no result (see errors)"))
    add(
        "(a) Pixelpress / thumbor, server CPU per uncached 400 px JPEG",
        ratio(pp_cpu, thumbor_cpu),
        "<=",
        0.25,
        rendition_note(phases.get("pixelpress_renditions"))
        + " (the target is set for that case; a 400 px output comes from the 512 px level)",
        thumbor_missing,
    )
    add(
        "(a) before the rendition exists: Pixelpress / raw pyvips thumbnail of the original",
        ratio(
            _get(phases, "pixelpress_uncached_original", "server_cpu_ms_per_request"),
            _get(phases, "raw_vips", "cpu_ms_per_image"),
        ),
        "<=",
        1.15,
        "Pixelpress renders from the original (the renditions' files removed); raw pyvips: "
        "plain `thumbnail` of the 4000x3000 file + jpegsave Q=80, one process, 8 threads",
    )
    primary = "wrk" if phases.get("pixelpress_cached_wrk") else "httpx"
    baselines = (
        ("static", "Starlette FileResponse", 0.8, "wrk: 1 thread, 8 connections"),
        (
            "bare",
            "bare ASGI app (the same bytes from memory)",
            0.5,
            "the ceiling of a Python server, under the same uvicorn settings; wrk: 1 thread, "
            "8 connections",
        ),
    )
    for baseline, label, target, note in baselines:
        for tool in ("wrk", "httpx"):
            add(
                f"(b) Pixelpress / {label}, cached hits per second ({tool})",
                ratio(
                    _get(phases, f"pixelpress_cached_{tool}", "requests_per_s"),
                    _get(phases, f"{baseline}_cached_{tool}", "requests_per_s"),
                ),
                ">=",
                target,
                note
                if tool == "wrk"
                else "Python asyncio+httpx client: it needs about a core itself, so it caps "
                "both servers"
                + (" (information only: wrk is the measurement)" if primary == "wrk" else ""),
                "wrk not installed, or (b) did not run" if tool == "wrk" else "",
                informative=tool != primary,
            )
    add(
        "(b) a Pixelpress process keeping no bytes in its cache (file sent) / Starlette "
        "FileResponse (wrk)",
        ratio(
            _get(phases, "pixelpress_files_cached_wrk", "requests_per_s"),
            _get(phases, "static_cached_wrk", "requests_per_s"),
        ),
        ">=",
        0.8,
        "variants over the inline limit (64 KiB by default) are answered this way: the record "
        "from the cache, the file through FileResponse",
        "wrk not installed, or (b) did not run",
        informative=True,
    )
    hwm = _get(phases, "pixelpress_memory", "vm_hwm_kib")
    add(
        "(c) Pixelpress peak memory (VmHWM), uncached load on a 7000x5000 source, MB",
        hwm * 1024 / MB if hwm is not None else None,
        "<",
        250,
        "whole server process, fresh before the load",
    )
    admission = phases.get("pixelpress_admission") or {}
    add(
        "(d) cached-hit p99 latency while 32 uncached renders at a time hammer the process, ms",
        _get(admission, "hits", "latency_ms", "p99"),
        "<",
        25,
        f"{_fmt(_get(admission, 'hits', 'completed') or _get(admission, 'hits', 'requests'))} "
        f"hits timed by {admission.get('probe', 'a separate client')}, "
        f"{_fmt(_get(admission, 'renders', 'completed'), 0)} renders "
        f"({_fmt(admission.get('refused'), 0)} refused with 503)",
    )
    peak = admission.get("vm_hwm_kib")
    add(
        "(d) Pixelpress peak memory (VmHWM) under that load, MB",
        peak * 1024 / MB if peak is not None else None,
        "<",
        200,
        "whole server process, fresh before the load (information: item 6's bound)",
        informative=True,
    )
    load_hwm = _get(phases, "pixelpress_memory_load", "vm_hwm_mb")
    add(
        "(e) Pixelpress peak memory (VmHWM), uncached renders while taking 35 MP uploads, MB",
        load_hwm,
        "<",
        200,
        "whole server process over its life: uploads, their renditions, then the mixed load",
    )
    return out


def _rounds(values: list[float] | None) -> str:
    return ", ".join(f"{v:,.1f}" for v in values) if values else "-"


def rendition_note(renditions: dict[str, Any] | None) -> str:
    """What the Pixelpress renders were made from."""
    if not renditions:
        return "whether a rendition existed is unknown"
    r = renditions.get("rendition")
    if not renditions.get("with_rendition") or not r:
        return "the service made no rendition: rendered from the original"
    return (
        f"with the rendition ready ({r.get('width')}x{r.get('height')} {r.get('format')}, "
        f"{(r.get('size') or 0) / 1000:.0f} kB) for all {renditions.get('with_rendition')} "
        "uploads"
    )


def render_markdown(results: dict[str, Any]) -> str:
    phases = results.get("phases", {})
    m = results.get("machine", {})
    profile = results.get("profile", {})
    v = results.get("versions", {})
    lines = [
        f"# Pixelpress benchmark ({profile.get('name', '?')} profile)",
        "",
        f"Run {results.get('started_at', '?')} in {results.get('duration_s', '?')} s on "
        f"{m.get('nproc', '?')} x {m.get('cpu_model', '?')} (family/model "
        f"{m.get('cpu_family_model', '?')}, {_fmt(m.get('cpu_mhz'), 0)} MHz"
        f"{', a VM' if m.get('hypervisor') else ''}), {m.get('memory_gib', '?')} GiB, "
        f"Linux {m.get('kernel', '?')}, Python {m.get('python', '?')}; libvips "
        f"{v.get('libvips', '?')}, thumbor {v.get('thumbor', 'n/a')} (Pillow "
        f"{v.get('pillow', 'n/a')}), {v.get('wrk', 'no wrk')}. Concurrency "
        f"{profile.get('concurrency', '?')}, all on loopback.",
        "",
    ]
    service = results.get("service", {})
    if service:
        dirty = service.get("uncommitted_in_src") or []
        lines += [
            f"Pixelpress at commit `{str(service.get('commit', '?'))[:12]}`"
            + (f" plus {len(dirty)} uncommitted file(s) in src/." if dirty else "."),
            "",
        ]

    photos = results.get("photos", {})
    src = photos.get("source", {})
    lines += [
        f"## (a) Uncached 400 px wide JPEG q80 from a {_size(src)} photo "
        f"({_fmt(src.get('bytes', 0) / MB if src else None, 2)} MB, Q=90)",
        "",
        f"{profile.get('uncached', '?')} timed requests after {profile.get('uncached_warmup', '?')}"
        " warm-up ones, each a new variant (widths 400-419, then another copy of the source), in "
        f"{profile.get('uncached_rounds', '?')} rounds: in each round every row below takes its "
        "share in turn, so that a drift of the machine's speed hits all alike. CPU and rates "
        "are totals over the rounds (the last column shows each round's CPU); p50 is the median "
        "round's, p95 the worst round's.",
        "",
        "| what | CPU ms / image | images/s | p50 ms | p95 ms | cores busy | rounds CPU ms |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for label, key in (
        ("Pixelpress, signed URL (server process), rendition ready", "pixelpress_uncached"),
        (
            "Pixelpress, signed URL, before a rendition exists (from the original)",
            "pixelpress_uncached_original",
        ),
        ("thumbor 7, PIL, 2 processes (server tree)", "thumbor_uncached"),
    ):
        p = phases.get(key)
        lines.append(
            f"| {label} | {_fmt(_get(p or {}, 'server_cpu_ms_per_request'))} | "
            f"{_fmt(_get(p or {}, 'requests_per_s'))} | {_fmt(_get(p or {}, 'latency_ms', 'p50'))}"
            f" | {_fmt(_get(p or {}, 'latency_ms', 'p95'))} | "
            f"{_fmt(_get(p or {}, 'server_cores_busy'), 2)} | "
            f"{_rounds((p or {}).get('rounds_cpu_ms_per_request'))} |"
        )
    for label, key in (
        ("raw pyvips `thumbnail` of the original, 8 threads (process)", "raw_vips"),
        (
            "raw pyvips from a 2048 px Q92 baseline master (like the rendition), optimised output",
            "raw_vips_master_baseline",
        ),
        ("same from a progressive master", "raw_vips_master_progressive"),
    ):
        p = phases.get(key) or {}
        busy = p["cpu_s"] / p["wall_s"] if p.get("wall_s") else None
        lines.append(
            f"| {label} | {_fmt(p.get('cpu_ms_per_image'))} | {_fmt(p.get('images_per_s'))} "
            f"| - | - | {_fmt(busy, 2)} | {_rounds(p.get('rounds_cpu_ms_per_image'))} |"
        )
    lines += ["", rendition_note(phases.get("pixelpress_renditions")) + "."]
    overhead = _get(phases, "pixelpress_uncached", "server_cpu_ms_per_request")
    master = _get(phases, "raw_vips_master_baseline", "cpu_ms_per_image")
    if overhead is not None and master is not None:
        lines += [
            "",
            "Pixelpress's CPU per render minus raw pyvips' from a 2048 px baseline master (what "
            "it rendered from before the pyramid; a 400 px output now comes from its 512 px "
            f"level, hence a saving rather than an overhead): {_fmt(overhead - master)} ms.",
        ]

    lines += [
        "",
        "## (b) Cached hits: one already rendered signed URL, fetched again and again",
        "",
        f"Both servers up; after a warm-up ({profile.get('cached_warmup', '?')} httpx requests, "
        f"{profile.get('wrk_warmup_seconds', '?')} s of wrk) {profile.get('cached_rounds', '?')}"
        f" rounds in which each server in turn gets {_per_round(profile)} httpx requests, then "
        f"{profile.get('wrk_round_seconds', '?')} s of wrk. Hits/s are totals over the rounds; "
        "the last column shows each round's.",
        "",
        "| what | client | hits/s | server CPU ms / hit | p50 ms | p99 ms | rounds hits/s |",
        "| --- | --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for tool in ("wrk", "httpx"):
        for label, key in (
            ("Pixelpress", "pixelpress"),
            ("Pixelpress, bytes not kept in the cache (file sent)", "pixelpress_files"),
            ("Starlette FileResponse", "static"),
            ("bare ASGI app, the same bytes from memory", "bare"),
        ):
            p = phases.get(f"{key}_cached_{tool}")
            if p is None:
                continue
            lines.append(
                f"| {label} | {tool} | {_fmt(p.get('requests_per_s'))} | "
                f"{_fmt(p.get('server_cpu_ms_per_request'), 3)} | "
                f"{_fmt(_get(p, 'latency_ms', 'p50'), 2)} | "
                f"{_fmt(_get(p, 'latency_ms', 'p99'), 2)} | "
                f"{', '.join(f'{r:,.0f}' for r in p.get('rounds_rps', []))} |"
            )

    large = photos.get("large", {})
    mem = phases.get("pixelpress_memory") or {}

    def mb(kib: Any) -> str:
        return _fmt(kib * 1024 / MB if kib is not None else None)

    lines += [
        "",
        f"## (c) Pixelpress memory, uncached 400 px JPEGs of a {_size(large)} photo "
        f"({_fmt(large.get('bytes', 0) / MB if large else None, 2)} MB)",
        "",
        f"{profile.get('memory', '?')} requests, each a new variant, on a server process started"
        " just before (uploads were done by an earlier process on the same data).",
        "",
        "| VmHWM MB | sampled peak RSS MB | idle RSS MB | CPU ms / image | images/s "
        "| VmHWM MB of the upload process |",
        "| ---: | ---: | ---: | ---: | ---: | ---: |",
        f"| {mb(mem.get('vm_hwm_kib'))} | {mb(mem.get('sampled_peak_rss_kib'))} | "
        f"{mb(mem.get('idle_rss_kib'))} | {_fmt(mem.get('server_cpu_ms_per_request'))} | "
        f"{_fmt(mem.get('requests_per_s'))} | {mb(mem.get('setup_process_vm_hwm_kib'))} |",
        "",
        rendition_note(mem.get("renditions")) + ". The last column is the earlier process that "
        "took the uploads and made their renditions (information, not the target).",
        "",
    ]
    lines += admission_section(phases.get("pixelpress_admission") or {}, profile)
    lines += ["", *_memory_load_lines(phases.get("pixelpress_memory_load") or {})]
    lines += [
        "## Targets",
        "",
        "| ratio | measured | target | verdict | note |",
        "| --- | ---: | ---: | --- | --- |",
    ]
    for c in results.get("comparisons") or comparisons(results):
        digits = 0 if c["name"].endswith("MB") else 2
        lines.append(
            f"| {c['name']} | {_fmt(c['value'], digits)} | {c['op']} {c['target']} | "
            f"**{c['verdict']}** | {c['note']} |"
        )
    errors = results.get("errors") or {}
    if errors:
        lines += ["", "## Did not run or failed", ""]
        lines += [f"- {name}: {message}" for name, message in errors.items()]
    return "\n".join(lines) + "\n"


def _memory_load_lines(mem: dict[str, Any]) -> list[str]:
    """(e), from bench/memory_load.py."""
    return [
        "## (e) Pixelpress memory, uncached 400 px JPEGs of 7000x5000 photos while taking "
        "more of them",
        "",
        f"A fresh server process takes copies of the photo and makes their renditions, then "
        f"{mem.get('renders', '?')} uncached renders (concurrency 8) while {mem.get('uploaders')}"
        f" clients upload {mem.get('uploads_during', '?')} more, whose renditions it makes too.",
        "",
        "| VmHWM MB | sampled peak RSS MB | VmHWM MB before the load | idle RSS MB before it "
        "| server CPU ms / render (uploads included) | uploads s |",
        "| ---: | ---: | ---: | ---: | ---: | ---: |",
        f"| {_fmt(mem.get('vm_hwm_mb'))} | {_fmt(mem.get('sampled_peak_rss_mb'))} | "
        f"{_fmt(mem.get('setup_vm_hwm_mb'))} | {_fmt(mem.get('idle_rss_mb'))} | "
        f"{_fmt(mem.get('render_cpu_ms_per_image'))} | {_fmt(mem.get('uploads_s'))} |",
        "",
    ]


def admission_section(d: dict[str, Any], profile: dict[str, Any]) -> list[str]:
    """(d): hit latency and peak memory while uncached renders hammer the process."""
    hits, renders = d.get("hits") or {}, d.get("renders") or {}

    def mb(kib: Any) -> str:
        return _fmt(kib * 1024 / MB if kib is not None else None)

    covered = d.get("probe_covered_the_renders")
    count = hits.get("completed") or hits.get("requests")
    probe = (
        "a separate client (httpx, one connection) fetches one rendered URL again and again, "
        "from before the renders begin until they end"
    )
    return [
        "",
        "## (d) Cached hits while uncached renders hammer the same process",
        "",
        f"{profile.get('admission', '?')} uncached 400 px renders (each a new variant, rendition "
        "ready), 32 at a time, on a server process started just before (uploads made by an "
        f"earlier one, and 8 renders first as a warm-up); meanwhile {probe}"
        + ("" if covered in (None, True) else " (**the renders ended first**)")
        + ". Renders beyond the process's slots wait briefly, then get 503 with Retry-After.",
        "",
        "| hits | hit p50 ms | hit p95 ms | hit p99 ms | hit max ms | renders | refused (503) "
        "| renders/s | VmHWM MB | sampled peak RSS MB |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        f"| {_fmt(count)} | {_fmt(_get(hits, 'latency_ms', 'p50'), 2)} | "
        f"{_fmt(_get(hits, 'latency_ms', 'p95'), 2)} | {_fmt(_get(hits, 'latency_ms', 'p99'), 2)}"
        f" | {_fmt(_get(hits, 'latency_ms', 'max'), 2)} | {_fmt(renders.get('completed'))} | "
        f"{_fmt(d.get('refused'))} | {_fmt(renders.get('requests_per_s'))} | "
        f"{mb(d.get('vm_hwm_kib'))} | {mb(d.get('sampled_peak_rss_kib'))} |",
    ]


def _per_round(profile: dict[str, Any]) -> str:
    try:
        return str(max(1, int(profile["cached"]) // int(profile["cached_rounds"])))
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return "?"


def _size(photo: dict[str, Any]) -> str:
    size = photo.get("size") if photo else None
    return f"{size[0]}x{size[1]}" if size else "?"
