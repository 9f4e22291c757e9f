"""Real peers on loopback: an SMTP server and a webhook receiver."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.services import free_port


@dataclass
class Inbox:
    messages: list[Message] = field(default_factory=list)


def smtp_server(login: tuple[str, str] | None = None) -> Iterator[tuple[str, Inbox]]:
    """aiosmtpd on loopback; yields its smtp:// URL and what it received. With `login` (user,
    password), it takes mail only from a client that logged in with those."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    inbox = Inbox()

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            inbox.messages.append(message_from_bytes(envelope.content))
            return "250 OK"

    def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
        given = (data.login.decode(), data.password.decode())
        # handled=False: aiosmtpd answers a refusal itself (535)
        return AuthResult(success=given == login, handled=False)

    port = free_port()
    auth: dict[str, Any] = {}
    if login is not None:
        auth = {
            "authenticator": authenticate,
            "auth_required": True,
            "auth_require_tls": False,
        }
    controller = Controller(Handler(), hostname="127.0.0.1", port=port, **auth)
    controller.start()
    try:
        yield f"smtp://127.0.0.1:{port}", inbox
    finally:
        controller.stop()


@dataclass
class Hook:
    headers: dict[str, str]
    body: bytes

    @property
    def event(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed


@dataclass
class Receiver:
    url: str
    received: list[Hook] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)
    """Statuses to answer with, in order; 200 once they run out."""


def webhook_receiver() -> Iterator[Receiver]:
    port = free_port()
    receiver = Receiver(f"http://127.0.0.1:{port}/hooks/pixelpress")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            receiver.received.append(Hook(dict(self.headers), self.rfile.read(length)))
            status = receiver.answers.pop(0) if receiver.answers else 200
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return

    with serving(Handler, port):
        yield receiver


@contextlib.contextmanager
def serving(handler: type[BaseHTTPRequestHandler], port: int = 0) -> Iterator[str]:
    """Serves `handler` on loopback from a thread; yields the base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    # A short poll: shutdown() waits for the loop to look up, half a second by default.
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class Misbehaving:
    """A webhook receiver that answers badly on purpose; counts the bytes it managed to send."""

    url: str
    sent: int = 0
    requests: int = 0


def misbehaving_receiver(how: str) -> Iterator[Misbehaving]:
    """`huge`: a 200 with a 64 MiB body, written as fast as the sender takes it; `drip_head`: the
    status line, then one byte every half second; `drip_body`: the head at once, then the body a
    byte every half second."""
    import socket
    import time

    port = free_port()
    receiver = Misbehaving(f"http://127.0.0.1:{port}/hook")
    listener = socket.create_server(("127.0.0.1", port))
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve(conn: socket.socket) -> None:
        conn.settimeout(5)
        try:
            conn.recv(65536)  # the request (small: a notification)
            receiver.requests += 1
            if how == "huge":
                size = 64 * 1024 * 1024
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % size)
                chunk = b"\0" * 65536
                while receiver.sent < size and not stop.is_set():
                    conn.sendall(chunk)
                    receiver.sent += len(chunk)
                return
            head = b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"
            if how == "drip_body":
                conn.sendall(head)
                head = b"x" * 1000
            for byte in head:
                if stop.is_set():
                    return
                conn.sendall(bytes([byte]))
                receiver.sent += 1
                time.sleep(0.5)
        except OSError:
            return  # the sender hung up: what we are testing for
        finally:
            conn.close()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()
