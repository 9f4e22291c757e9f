"""The real `pixelpress serve` process on a free port, walked over HTTP like a newcomer would."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import pyvips

from tests.e2e.processes import environment, serve, upload
from tests.images import photo

pytestmark = pytest.mark.e2e


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    env = environment(data_dir=str(tmp_path / "var"))
    process, base = serve(env, tmp_path)
    try:
        yield base
    finally:
        process.stop()
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
        image_id = upload(server, headers, photo(1200, 900))
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
