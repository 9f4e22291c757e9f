"""`pixelpress upload`: one overall progress bar, a line per file (bytes, speed, result, or the
service's refusal), and a non-zero exit when any file was refused."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from pixelpress.client._cli_support import JsonOption, open_client, out, print_json, size
from pixelpress.client.errors import PixelpressError
from pixelpress.client.sync import Client


def _files(paths: list[Path], recursive: bool) -> tuple[list[Path], list[tuple[Path, str]]]:
    """The files to upload, and the paths refused before any upload (with the reason).
    Hidden files (.DS_Store and the like) inside folders are skipped."""
    found: list[Path] = []
    refused: list[tuple[Path, str]] = []
    for path in paths:
        if path.is_file():
            found.append(path)
        elif path.is_dir() and recursive:
            found += sorted(
                p
                for p in path.rglob("*")
                if p.is_file()
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
        elif path.is_dir():
            refused.append((path, "is a folder: add --recursive to upload what is inside"))
        else:
            refused.append((path, "no such file"))
    return found, refused


def upload(
    paths: Annotated[list[Path], typer.Argument(help="Image files, or folders with --recursive.")],
    recursive: Annotated[
        bool, typer.Option("--recursive", "-r", help="Upload the files inside folders.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Upload images: one overall progress bar, a line per file.

    Exits 1 when any file was refused (the others are stored)."""
    files, refused = _files(paths, recursive)
    results: list[dict[str, Any]] = [
        {"path": str(p), "ok": False, "error": {"error": why, "code": "not_uploaded"}}
        for p, why in refused
    ]
    for path, why in refused:
        if not as_json:
            out.print(f"[red]failed[/]  {escape(str(path))}: {escape(why)}")
    sizes = {p: p.stat().st_size for p in files}
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    # Bars on a terminal only: in a log or a pipe the per-file lines say it all.
    quiet_bars = as_json or not out.is_terminal
    with open_client() as client, Progress(*columns, console=out, disable=quiet_bars) as bars:
        overall = bars.add_task(f"{len(files)} files", total=sum(sizes.values()))
        done = 0
        for path in files:
            results.append(_upload_one(client, path, sizes[path], bars, overall, done, as_json))
            done += sizes[path]
            bars.update(overall, completed=done)
    if as_json:
        print_json(results)
    else:
        stored = sum(1 for r in results if r["ok"])
        out.print(f"{stored} of {len(results)} uploaded.")
    if any(not r["ok"] for r in results):
        raise typer.Exit(1)


def _upload_one(
    client: Client, path: Path, total: int, bars: Progress, overall: Any, before: int, quiet: bool
) -> dict[str, Any]:
    task = bars.add_task(escape(path.name), total=total)

    def progress(sent: int, _: int | None) -> None:
        bars.update(task, completed=sent)
        bars.update(overall, completed=before + sent)

    started = time.monotonic()
    try:
        uploaded = client.upload(path, progress=progress)
    except PixelpressError as exc:
        bars.remove_task(task)
        if not quiet:
            reason = f"{exc.status} {exc.code}: {exc.message}" if exc.status else exc.message
            out.print(f"[red]failed[/]  {escape(str(path))}  {size(total)}  {escape(reason)}")
        return {"path": str(path), "ok": False, "error": exc.envelope()}
    bars.remove_task(task)
    speed = total / max(time.monotonic() - started, 1e-6)
    image = uploaded.image
    if not quiet:
        out.print(
            f"[green]ok[/]      {escape(str(path))}  {size(total)}  {size(int(speed))}/s  "
            f"{image.id}  {image.width}x{image.height} {image.format}"
        )
    return {"path": str(path), "ok": True, "imageId": image.id, "image": image}
