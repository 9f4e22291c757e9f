"""The cached-hit baseline: a plain Starlette app that serves one file with `FileResponse`,
nothing else (no auth, no signature, no cache lookup, no middleware).

    BENCH_STATIC_FILE=/path/to/rendered.jpg uvicorn --app-dir bench static_app:app
"""

from __future__ import annotations

import os

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response
from starlette.routing import Route

FILE = os.environ.get("BENCH_STATIC_FILE", "")


async def image(request: Request) -> Response:
    return FileResponse(FILE, media_type="image/jpeg")


async def health(request: Request) -> Response:
    return PlainTextResponse("ok")


app = Starlette(routes=[Route("/image.jpg", image), Route("/healthz", health)])
