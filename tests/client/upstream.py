"""A loopback HTTP front for a live server, standing in for what may sit between a client and
the service: it answers the first requests itself (a 429 or 503 with Retry-After, a proxy's
HTML error page, an event stream it will not pass) and forwards the rest unchanged."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler

import httpx

from tests.receivers import serving

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


@dataclass
class Answer:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


def refusal(status: int, code: str, retry_after: str | None = None) -> Answer:
    envelope = {"error": "Not now.", "code": code, "details": None, "statusCode": status}
    headers = {"Content-Type": "application/json"}
    if retry_after is not None:
        headers["Retry-After"] = retry_after
    return Answer(status, json.dumps(envelope).encode(), headers)


@dataclass
class Front:
    """`answers` are given, in order, to the requests `intercept(method, path)` picks; the
    others go to `target`. `seen` lists every request as (method, path, body size)."""

    target: str
    answers: list[Answer] = field(default_factory=list)
    intercept: Callable[[str, str], bool] = lambda method, path: True
    seen: list[tuple[str, str, int]] = field(default_factory=list)
    base: str = ""


def front(target: str) -> Iterator[Front]:
    state = Front(target)
    upstream = httpx.Client(base_url=target, timeout=60)
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            with lock:
                state.seen.append((self.command, self.path, len(body)))
                own = (
                    state.answers.pop(0)
                    if state.answers and state.intercept(self.command, self.path)
                    else None
                )
            if own is None:
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                got = upstream.request(self.command, self.path, headers=headers, content=body)
                own = Answer(got.status_code, got.content, dict(got.headers))
            self.send_response(own.status)
            for key, value in own.headers.items():
                if key.lower() not in HOP_BY_HOP | {"content-encoding"}:
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(own.body)))
            self.end_headers()
            self.wfile.write(own.body)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

        def log_message(self, *args: object) -> None:
            pass

    try:
        with serving(Handler) as base:
            state.base = base
            yield state
    finally:
        upstream.close()
