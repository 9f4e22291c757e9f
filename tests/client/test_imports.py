"""Importing the client loads no part of the server: an application that only calls Pixelpress
does not pay for FastAPI, SQLAlchemy, pyvips and the rest."""

from __future__ import annotations

import json
import subprocess
import sys

SERVER_SIDE = (
    "fastapi",
    "starlette",
    "sqlalchemy",
    "pyvips",
    "taskiq",
    "obstore",
    "redis",
    "asyncpg",
    "alembic",
    "uvicorn",
    "pixelpress.api",
    "pixelpress.adapters",
    "pixelpress.usecases",
    "pixelpress.bootstrap",
    "pixelpress.settings",
)


def loaded_by(statement: str) -> set[str]:
    code = f"{statement}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    return set(json.loads(done.stdout))


def server_side(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m.startswith(SERVER_SIDE))


def test_the_client_imports_nothing_of_the_server() -> None:
    modules = loaded_by("import pixelpress.client\nfrom pixelpress.client import Client, UrlSigner")
    assert "httpx" in modules and "pixelpress.client.sync" in modules
    assert server_side(modules) == []


def test_the_check_sees_what_the_server_loads() -> None:
    assert {"fastapi", "sqlalchemy", "pixelpress.api"} <= set(
        server_side(loaded_by("import pixelpress.api.app"))
    )
