"""The command line's plumbing: the client it opens, how it prints (for people, or `--json`
for scripts), how refusals end a command, and the transformation options that `transform` and
`url` share."""

from __future__ import annotations

import contextlib
import functools
import inspect
import json
import sys
from collections.abc import Callable, Iterator
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from pydantic import BaseModel
from rich.console import Console

from pixelpress.client import config
from pixelpress.client.errors import PixelpressError
from pixelpress.client.sync import Client

F = TypeVar("F", bound=Callable[..., Any])

JsonOption = Annotated[
    bool, typer.Option("--json", help="Print the result as JSON, for scripts (no progress bars).")
]

# Into a pipe or a file, lines are not cut to 80 columns: tables stay whole for grep and awk.
out = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def open_client() -> Client:
    """A client for the configured server, signed in with the configured session; tokens it
    renews are saved again (a spent refresh token must not be used twice)."""
    found = config.target()
    if found.tokens is None:
        fail(
            f"Not logged in to {found.url}: run `pixelpress login`, or set "
            f"{config.URL_VARIABLE} and {config.TOKEN_VARIABLE}."
        )

    def keep(tokens: Any) -> None:
        profile = config.Profile.load()
        profile.tokens = tokens
        profile.save()

    return Client(found.url, tokens=found.tokens, on_tokens=keep if found.saved else None)


def dump(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, list):
        return [dump(v) for v in value]
    if isinstance(value, dict):
        return {k: dump(v) for k, v in value.items()}
    return value


def print_json(value: Any) -> None:
    typer.echo(json.dumps(dump(value), indent=2, ensure_ascii=False))


def fail(message: str, *, code: int = 1) -> NoReturn:
    err.print(f"error: {message}", markup=False)
    raise typer.Exit(code)


@contextlib.contextmanager
def refusals(as_json: bool) -> Iterator[None]:
    """A refusal of the service ends the command with exit code 1 and its message (with
    `--json`: its error envelope, on stdout)."""
    try:
        yield
    except PixelpressError as exc:
        if as_json:
            print_json(exc.envelope())
            raise typer.Exit(1) from exc
        fail(f"{exc.message} ({exc.code})")


def size(n: int | None) -> str:
    from rich.filesize import decimal

    return "-" if n is None else decimal(n)


# -- the transformation options of `transform` and `url` ---------------------------------------

Opt = typer.Option
SPEC_OPTIONS: dict[str, Any] = {
    "resize": Annotated[str | None, Opt(help="WxH, Wx or xH (the API's short form).")],
    "width": Annotated[int | None, Opt(help="Output width in pixels.")],
    "height": Annotated[int | None, Opt(help="Output height in pixels.")],
    "fit": Annotated[
        str | None, Opt(help="With both edges: cover, contain, fill, inside, outside.")
    ],
    "gravity": Annotated[str | None, Opt(help="What a cover crop keeps: center, top, auto, …")],
    "crop": Annotated[str | None, Opt(help="X:Y:WIDTH:HEIGHT of the source, before resizing.")],
    "rotate": Annotated[float | None, Opt(help="Degrees clockwise.")],
    "flip": Annotated[bool, Opt("--flip", help="Upside down.")],
    "mirror": Annotated[bool, Opt("--mirror", help="Left to right.")],
    "filter": Annotated[
        list[str] | None, Opt(help="grayscale, sepia, sharpen, blur or blur:SIGMA (repeatable).")
    ],
    "watermark": Annotated[str | None, Opt(help="One of your images (id or filename).")],
    "watermark_text": Annotated[str | None, Opt(help="A text watermark.")],
    "format": Annotated[str | None, Opt(help="jpeg, png, webp, avif or gif.")],
    "quality": Annotated[int | None, Opt(help="1 to 100.")],
    "compress": Annotated[bool, Opt("--compress", help="Smaller files, lower quality.")],
    "spec": Annotated[
        str | None, Opt(help="A whole spec as JSON; the options above are added to it.")
    ],
}
DEFAULTS = {"flip": False, "mirror": False, "compress": False}


def spec_of(values: dict[str, Any]) -> dict[str, Any]:
    """The spec the options say, in the API's short form (`{"resize": "800x", …}`)."""
    spec: dict[str, Any] = {}
    if values["spec"]:
        try:
            loaded = json.loads(values["spec"])
        except ValueError:
            fail("--spec is not valid JSON.", code=2)
        if isinstance(loaded, dict) and set(loaded) == {"transformations"}:
            loaded = loaded["transformations"]
        if not isinstance(loaded, dict):
            fail("--spec must be a JSON object.", code=2)
        spec = loaded
    edges = {k: values[k] for k in ("width", "height", "fit", "gravity") if values[k] is not None}
    if values["resize"] and edges:
        fail("Give --resize, or --width/--height (with --fit, --gravity), not both.", code=2)
    if values["resize"]:
        spec["resize"] = values["resize"]
    elif edges:
        spec["resize"] = edges
    if values["crop"]:
        try:
            x, y, w, h = (int(part) for part in values["crop"].split(":"))
        except ValueError:
            fail("--crop takes X:Y:WIDTH:HEIGHT, in whole pixels.", code=2)
        spec["crop"] = {"x": x, "y": y, "width": w, "height": h}
    simple = ("rotate", "format", "quality", "watermark")
    spec.update({k: values[k] for k in simple if values[k] is not None})
    spec.update({k: True for k in ("flip", "mirror", "compress") if values[k]})
    if values["rotate"] is not None and float(values["rotate"]).is_integer():
        spec["rotate"] = int(values["rotate"])
    if values["filter"]:
        spec["filter"] = values["filter"]
    if values["watermark_text"]:
        spec["watermark"] = {"text": values["watermark_text"]}
    return spec


def with_spec_options(command: F) -> F:
    """Gives `command` the transformation options; it receives them as `spec`, a dict in the
    API's short form. (One declaration of the options for every command that takes them.)"""
    signature = inspect.signature(command, eval_str=True)
    own = [p for p in signature.parameters.values() if p.name != "spec"]
    added = [
        inspect.Parameter(
            name, inspect.Parameter.KEYWORD_ONLY, default=DEFAULTS.get(name), annotation=kind
        )
        for name, kind in SPEC_OPTIONS.items()
    ]

    @functools.wraps(command)
    def wrapper(**kwargs: Any) -> Any:
        values = {name: kwargs.pop(name) for name in SPEC_OPTIONS}
        return command(spec=spec_of(values), **kwargs)

    wrapper.__signature__ = signature.replace(parameters=[*own, *added])  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in (*own, *added)}
    return wrapper  # type: ignore[return-value]
