"""The user commands of `pixelpress`, built on the Python client: login, logout, upload, ls,
show, transform, url, srcset, rm and presets. Every one takes `--json` for scripts.
`add_user_commands` registers them into the server's Typer app (serve, worker, migrate and
users stay there)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from pixelpress.client import config
from pixelpress.client._cli_support import (
    JsonOption,
    err,
    fail,
    open_client,
    out,
    print_json,
    refusals,
    size,
    with_spec_options,
)
from pixelpress.client.cli_presets import presets
from pixelpress.client.cli_upload import upload
from pixelpress.client.errors import PixelpressError
from pixelpress.client.models import Image
from pixelpress.client.sync import Client

PANEL = "Your library (client commands)"


def login(
    url: Annotated[
        str | None,
        typer.Option(help=f"The server; default {config.URL_VARIABLE} or the last one used."),
    ] = None,
    username: Annotated[
        str | None, typer.Option("--username", "-u", help="Username or email.")
    ] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Sign in and keep the session in your config directory (readable by you only)."""
    profile = config.Profile.load()
    server = url or config.target().url
    name = username or typer.prompt("Username or email")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True)
    with refusals(as_json), Client(server) as client:
        session = client.login(name, password, remember_me=True)
    profile.url, profile.username, profile.tokens = server, session.user.username, client.tokens
    saved = profile.save()
    if as_json:
        print_json(session.user)
    else:
        out.print(f"Logged in to {server} as {session.user.username} (saved in {saved}).")


def logout(as_json: JsonOption = False) -> None:
    """End the saved session (its tokens stop working at once) and forget it.

    The session is forgotten here even when the server cannot be told (it is then said)."""
    profile = config.Profile.load()
    refused: PixelpressError | None = None
    if profile.tokens is not None:
        with Client(profile.url, tokens=profile.tokens) as client:
            try:
                client.logout()
            except PixelpressError as exc:
                refused = exc
    profile.tokens = None
    profile.save()
    if as_json:
        print_json({"loggedOut": True, "serverError": refused.envelope() if refused else None})
        return
    if refused is not None:
        err.print(f"warning: the server was not told: {refused.message} ({refused.code})")
    out.print("Logged out.")


def ls(
    page: Annotated[int, typer.Option(min=1, help="Which page.")] = 1,
    limit: Annotated[int, typer.Option(min=1, max=100, help="Images a page.")] = 20,
    all_pages: Annotated[bool, typer.Option("--all", help="Every image, all pages.")] = False,
    as_json: JsonOption = False,
) -> None:
    """List your images, newest first."""
    with refusals(as_json), open_client() as client:
        if all_pages:
            images = list(client.iter_images(limit=100))
            footer = f"{len(images)} images"
            found: Any = images
        else:
            found = client.list_images(page=page, limit=limit)
            images = found.items
            footer = f"page {found.page} of {max(found.pages, 1)}, {found.total} images"
    if as_json:
        print_json(found)
        return
    table = Table(box=None)
    table.add_column("id", no_wrap=True, min_width=32)
    for name in ("filename", "format", "size", "pixels", "status"):
        table.add_column(name)
    table.add_column("created", no_wrap=True)
    for image in images:
        table.add_row(*_row(image))
    out.print(table)
    out.print(footer)


def _row(image: Image) -> tuple[str, ...]:
    return (
        image.id,
        escape(image.filename),
        image.format,
        size(image.size),
        f"{image.width}x{image.height}",
        image.status,
        image.created_at.strftime("%Y-%m-%d %H:%M"),
    )


def show(image_id: str, as_json: JsonOption = False) -> None:
    """One image: its details and its variants."""
    with refusals(as_json), open_client() as client:
        image = client.get_image(image_id)
    if as_json:
        print_json(image)
        return
    fields = dict(zip(("id", "filename", "format", "size", "pixels", "status", "created"),
                      _row(image), strict=True))  # fmt: skip
    for key, value in fields.items():
        out.print(f"{key:>9}  {value}")
    out.print(f"{'frames':>9}  {image.frames}")
    if image.placeholder is not None:
        out.print(f"{'color':>9}  {image.placeholder.dominant_color}")
    table = Table("variant", "status", "format", "size", "pixels", "spec", box=None)
    for v in image.variants:
        pixels = f"{v.width}x{v.height}" if v.width else "-"
        table.add_row(v.id, v.status, v.format, size(v.size), pixels, escape(str(v.spec)))
    out.print(table if image.variants else "no variants yet")


@with_spec_options
def transform(
    image_id: str,
    wait: Annotated[bool, typer.Option("--wait", help="Wait until the job ended.")] = False,
    out_file: Annotated[
        Path | None, typer.Option("--out", "-o", help="Save the result here (implies --wait).")
    ] = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait at most.")] = 300.0,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only say the output's size and format.")
    ] = False,
    as_json: JsonOption = False,
    *,
    spec: dict[str, Any],
) -> None:
    """Render a transformation of an image as a job, e.g. `--resize 800x --format webp`."""
    if not spec:
        fail("Say what to do: --resize, --format, --filter, … (see --help).", code=2)
    with refusals(as_json), open_client() as client:
        if dry_run:
            planned = client.dry_run(image_id, spec)
            if as_json:
                print_json(planned)
            else:
                cached = "already rendered" if planned.cached else "not rendered yet"
                out.print(f"{planned.width}x{planned.height} {planned.format} ({cached})")
                for face in planned.faces or []:
                    out.print(f"face at {face.x},{face.y}: {face.width}x{face.height}")
            return
        result = client.transform(
            image_id, spec, wait=wait or out_file is not None, timeout=timeout
        )
        written = None
        if out_file is not None:
            written = client.download(image_id, out_file, variant=result.variant_id)
    if as_json:
        print_json({**result.model_dump(mode="json"), "saved": str(out_file) if out_file else None})
        return
    v = result.variant
    if result.job_id is None:
        out.print(f"Already rendered: variant {v.id}.")
    elif result.job is None:
        out.print(f"Queued job {result.job_id} for variant {v.id}.")
    if result.job is not None or result.job_id is None:
        out.print(f"{v.status}: {v.width}x{v.height} {v.format}, {size(v.size)} (variant {v.id})")
    if out_file is not None:
        out.print(f"Saved {escape(str(out_file))} ({size(written)}).")


@with_spec_options
def url(
    image_id: str,
    auto: Annotated[
        bool, typer.Option("--auto", help="The best format each browser takes (f_auto).")
    ] = False,
    expires_in: Annotated[
        int | None, typer.Option(min=1, help="Seconds the URL works (default: for good).")
    ] = None,
    preset: Annotated[
        str | None, typer.Option(help="A preset it names (t_); the other options override it.")
    ] = None,
    as_json: JsonOption = False,
    *,
    spec: dict[str, Any],
) -> None:
    """Mint a signed URL that renders an image on the fly, e.g. `--width 400 --auto`."""
    with refusals(as_json), open_client() as client:
        minted = client.mint_url(
            image_id, spec or None, auto_format=auto, expires_in=expires_in, preset=preset
        )
    if as_json:
        print_json(minted)
    else:
        typer.echo(minted.url)


def _listed(text: str | None, kind: type[int] | type[str], name: str) -> list[Any] | None:
    if text is None:
        return None
    try:
        return [kind(item.strip()) for item in text.split(",")]
    except ValueError:
        raise typer.BadParameter(f"{name} takes a comma-separated list.") from None


@with_spec_options
def srcset(
    image_id: str,
    widths: Annotated[
        str | None, typer.Option(help="Output widths, e.g. 320,640,1280 (default: up to 1920).")
    ] = None,
    formats: Annotated[
        str | None,
        typer.Option(help="Formats, best first; the last is the <img>'s, e.g. avif,webp,jpeg."),
    ] = None,
    sizes: Annotated[str, typer.Option(help="The sizes attribute.")] = "100vw",
    alt: Annotated[str, typer.Option(help="The alt text.")] = "",
    as_json: JsonOption = False,
    *,
    spec: dict[str, Any],
) -> None:
    """Print <picture> markup of signed URLs at several widths and formats, e.g.
    `--widths 320,640 --height 200 --fit cover` (the widths give the width)."""
    with refusals(as_json), open_client() as client:
        made = client.srcset(
            image_id,
            spec or None,
            widths=_listed(widths, int, "--widths"),
            formats=_listed(formats, str, "--formats"),
            sizes=sizes,
            alt=alt,
        )
    if as_json:
        print_json(made)
    else:
        typer.echo(made.picture)


def rm(
    image_ids: Annotated[list[str], typer.Argument(help="Images to delete.")],
    as_json: JsonOption = False,
) -> None:
    """Delete images with all their variants.

    Exits 1 when any could not be deleted."""
    results: list[dict[str, Any]] = []
    with open_client() as client:
        for image_id in image_ids:
            try:
                client.delete_image(image_id)
            except PixelpressError as exc:
                results.append({"id": image_id, "ok": False, "error": exc.envelope()})
                if not as_json:
                    out.print(f"[red]failed[/]  {image_id}: {escape(exc.message)} ({exc.code})")
            else:
                results.append({"id": image_id, "ok": True})
                if not as_json:
                    out.print(f"deleted {image_id}")
    if as_json:
        print_json(results)
    if any(not r["ok"] for r in results):
        raise typer.Exit(1)


def add_user_commands(app: typer.Typer) -> None:
    for command in (login, logout, upload, ls, show, transform, url, srcset, rm):
        app.command(rich_help_panel=PANEL)(command)
    app.add_typer(presets, name="presets", rich_help_panel=PANEL)
