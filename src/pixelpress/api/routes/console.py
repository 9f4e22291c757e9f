"""The web console: the static HTML, CSS and ES modules of the package's `web/` folder, the
index at `/` and every file under `/assets/`, all with the console's strict
Content-Security-Policy. The console is a client of the public API and nothing else."""

from __future__ import annotations

import os
from typing import Any

from fastapi import FastAPI, Request, Response
from starlette.staticfiles import StaticFiles

ASSETS = "/assets"
CSP = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "connect-src 'self'",
        "manifest-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "object-src 'none'",
    ]
)
HEADERS = {  # (nosniff is on every answer: api/observability.py)
    "Content-Security-Policy": CSP,
    "Referrer-Policy": "same-origin",
    # The names carry no content hash (there is no build step): a browser revalidates each file
    # by its ETag, and an unchanged one costs a 304.
    "Cache-Control": "no-cache",
}


class ConsoleFiles(StaticFiles):
    """Starlette's static files (ETag, Last-Modified, 304s, no path traversal), answered with
    the console's headers."""

    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Any,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers.update(HEADERS)
        return response


def mount(app: FastAPI) -> None:
    files = ConsoleFiles(packages=[("pixelpress", "web")])

    async def index(request: Request) -> Response:
        return await files.get_response("index.html", request.scope)

    app.mount(ASSETS, files, name="console")
    app.add_route("/", index, methods=["GET", "HEAD"], include_in_schema=False)
