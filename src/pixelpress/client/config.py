"""Where the command line keeps its server and session: a JSON file in the user's config
directory (`$XDG_CONFIG_HOME/pixelpress/config.json` on Linux), readable by its owner only.
`PIXELPRESS_URL` and `PIXELPRESS_TOKEN` override it (the server's settings have no `url` or
`token`, so the server never reads these two)."""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import typer

from pixelpress.client._base import DEFAULT_URL
from pixelpress.client._program import Tokens

URL_VARIABLE = "PIXELPRESS_URL"
TOKEN_VARIABLE = "PIXELPRESS_TOKEN"  # noqa: S105 - the name of a variable


def config_path() -> Path:
    return Path(typer.get_app_dir("pixelpress")) / "config.json"


@dataclass
class Profile:
    url: str = DEFAULT_URL
    username: str | None = None
    tokens: Tokens | None = None

    @classmethod
    def load(cls) -> Profile:
        """The saved profile, or an empty one (no file, or one that cannot be read)."""
        try:
            data: dict[str, Any] = json.loads(config_path().read_text())
            tokens = data.get("tokens")
            return cls(
                url=str(data.get("url") or DEFAULT_URL),
                username=data.get("username"),
                tokens=Tokens(**tokens) if isinstance(tokens, dict) else None,
            )
        except (OSError, ValueError, TypeError):
            return cls()

    def save(self) -> Path:
        """Written whole (a temporary file renamed over the old one), mode 0600 from the start:
        the refresh token in it is a 30-day credential."""
        path = config_path()
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "w") as out:
                json.dump(asdict(self), out, indent=2)
            os.chmod(temporary, 0o600)  # whatever the umask
            os.replace(temporary, path)
        except BaseException:
            with contextlib.suppress(OSError):
                temporary.unlink()
            raise
        return path


@dataclass(frozen=True)
class Target:
    """The server and credentials a command uses: the environment's, else the saved ones."""

    url: str
    tokens: Tokens | None
    saved: bool
    """True when the tokens are the saved profile's (so renewed ones are saved again)."""


def target() -> Target:
    profile = Profile.load()
    url = os.environ.get(URL_VARIABLE) or profile.url
    token = os.environ.get(TOKEN_VARIABLE)
    if token:
        return Target(url, Tokens(token), saved=False)
    same_server = url.rstrip("/") == profile.url.rstrip("/")
    return Target(url, profile.tokens if same_server else None, saved=same_server)
