"""`pixelpress presets`: name a transformation once and use it in URLs (`url --preset`)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from pixelpress.client._cli_support import JsonOption, open_client, out, print_json, refusals
from pixelpress.client.errors import PixelpressError

presets = typer.Typer(
    help="Named transformations (`thumb` = w_200,h_200,c_cover), used as t_thumb in URLs.",
    no_args_is_help=True,
)
GlobalOption = Annotated[
    bool, typer.Option("--global", help="The preset for everyone (admins only).")
]


@presets.command("ls")
def list_presets(as_json: JsonOption = False) -> None:
    """List your presets and the global ones."""
    with refusals(as_json), open_client() as client:
        found = client.list_presets()
    if as_json:
        print_json(found)
        return
    table = Table(box=None)
    for column in ("name", "options", "public", "scope"):
        table.add_column(column)
    for p in found:
        scope = "global" if p.is_global else "yours"
        table.add_row(escape(p.name), escape(p.options), "yes" if p.public else "no", scope)
    out.print(table)


@presets.command("set")
def set_preset(
    name: str,
    options: Annotated[str, typer.Argument(help="URL options, e.g. w_200,h_200,c_cover,q_75.")],
    public: Annotated[
        bool, typer.Option("--public", help="Usable in URLs without a signature.")
    ] = False,
    is_global: GlobalOption = False,
    as_json: JsonOption = False,
) -> None:
    """Define a preset, or redefine it (which purges what its old options made)."""
    with refusals(as_json), open_client() as client:
        try:
            made = client.create_preset(name, options, public=public, is_global=is_global)
        except PixelpressError as exc:
            if exc.code != "preset_exists":
                raise
            made = client.update_preset(name, options, public=public, is_global=is_global)
    if as_json:
        print_json(made)
    else:
        out.print(f"{escape(made.name)} = {escape(made.options)}")


@presets.command("rm")
def remove_preset(name: str, is_global: GlobalOption = False, as_json: JsonOption = False) -> None:
    """Delete a preset and what it made."""
    with refusals(as_json), open_client() as client:
        client.delete_preset(name, is_global=is_global)
    if as_json:
        print_json({"deleted": name})
    else:
        out.print(f"deleted {escape(name)}")
