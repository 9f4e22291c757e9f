"""The real `pixelpress serve` process on a free port, walked over HTTP like a newcomer would."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import pyvips

from tests.images import photo

pytestmark = pytest.mark.e2e


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "PIXELPRESS_DATA_DIR": str(tmp_path / "var")}
    env.pop("PIXELPRESS_SECRET_KEY", None)
    pixelpress = Path(sys.executable).parent / "pixelpress"
    proc = subprocess.Popen(
        [str(pixelpress), "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                output = proc.stdout.read().decode() if proc.stdout else ""
                pytest.fail(f"pixelpress serve did not become ready:\n{output}")
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    # the embedded default keeps its state under the data dir
    assert (tmp_path / "var" / "pixelpress.db").exists()
    assert (tmp_path / "var" / "secret_key").exists()


def test_walk_register_upload_transform_download(server: str) -> None:
    with httpx.Client(base_url=server, timeout=30) as http:
        r = http.post(
            "/api/v1/auth/register",
            json={"username": "walker", "email": "w@example.com", "password": "long enough pw"},
        )
        assert r.status_code == 201, r.text
        r = http.post(
            "/api/v1/auth/login", json={"username": "walker", "password": "long enough pw"}
        )
        assert r.status_code == 200, r.text
        headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
        r = http.post(
            "/api/v1/images",
            headers=headers,
            files={"image": ("walk.jpg", photo(1200, 900), "image/jpeg")},
        )
        assert r.status_code == 201, r.text
        image_id = r.json()["imageId"]
        r = http.post(
            f"/api/v1/images/{image_id}/transform",
            headers=headers,
            json={
                "transformations": {
                    "resize": {"width": 300},
                    "filters": {"grayscale": True},
                    "format": "webp",
                }
            },
        )
        assert r.status_code == 202, r.text
        deadline = time.monotonic() + 30
        while True:
            status = http.get(f"/api/v1/images/{image_id}/status", headers=headers).json()
            if status["status"] in ("processed", "failed") or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert status["status"] == "processed", status
        link = http.get(f"/api/v1/images/{image_id}/download", headers=headers).json()
        got = httpx.get(link["downloadUrl"], timeout=30)
        assert got.status_code == 200
        assert got.headers["content-type"] == "image/webp"
        out = pyvips.Image.new_from_buffer(got.content, "")
        assert out.width == 300
        assert out.get("vips-loader").startswith("webpload")
        point = out.getpoint(150, out.height // 2)
        assert out.bands <= 2 or point[0] == point[1] == point[2]
