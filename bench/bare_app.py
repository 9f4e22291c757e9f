"""The ceiling of a Python server: a bare ASGI callable, no framework, that answers every
request with the same bytes from memory (the rendered variant Pixelpress serves in (b)).

    BENCH_BARE_FILE=/path/to/rendered.jpg uvicorn --app-dir bench bare_app:app
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

FILE = os.environ.get("BENCH_BARE_FILE", "")
BODY = Path(FILE).read_bytes() if FILE else b""
HEADERS = [(b"content-type", b"image/jpeg"), (b"content-length", str(len(BODY)).encode())]


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":  # lifespan: nothing to start
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
            message = await receive()
        await send({"type": "lifespan.shutdown.complete"})
        return
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})
