"""Starting real `pixelpress` processes for end-to-end tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.services import free_port

PIXELPRESS = str(Path(sys.executable).parent / "pixelpress")


class Process:
    def __init__(self, args: list[str], env: dict[str, str], cwd: Path, log: Path) -> None:
        self.log = log
        self._out = log.open("wb")
        self.proc = subprocess.Popen(
            [PIXELPRESS, *args], cwd=cwd, env=env, stdout=self._out, stderr=subprocess.STDOUT
        )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL: no clean-up, no goodbye, as a crash or an OOM kill."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
        self._out.close()


def serve(env: dict[str, str], cwd: Path, name: str = "api") -> tuple[Process, str]:
    port = free_port()
    process = Process(
        ["serve", "--host", "127.0.0.1", "--port", str(port)], env, cwd, cwd / f"{name}.log"
    )
    base = f"http://127.0.0.1:{port}"
    wait_ready(process, base)
    return process, base


def wait_ready(process: Process, base: str, timeout: float = 40) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if process.proc.poll() is not None or time.monotonic() > deadline:
            process.stop()
            pytest.fail(f"{base} did not become ready:\n{process.output()[-4000:]}")
        time.sleep(0.2)


def environment(**settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIXELPRESS_")}
    env.update({f"PIXELPRESS_{k.upper()}": v for k, v in settings.items()})
    return env


def upload(base: str, headers: dict[str, str], data: bytes) -> str:
    """Uploads a JPEG through the API at `base`; the new image's id."""
    r = httpx.post(
        f"{base}/api/v1/images",
        headers=headers,
        files={"image": ("photo.jpg", data, "image/jpeg")},
        timeout=60,
    )
    assert r.status_code == 201, r.text
    image_id: str = r.json()["imageId"]
    return image_id
