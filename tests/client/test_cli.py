"""The user commands of `pixelpress`, run as a person or a script runs them, against a live
server, with a config directory of their own."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import pyvips

from pixelpress.domain.faces import Box
from pixelpress.settings import Settings
from tests.client.live import PASSWORD, Server
from tests.client.test_client import expired
from tests.e2e.processes import PIXELPRESS
from tests.faces import ASTRONAUT, ASTRONAUT_FACE, overlap
from tests.images import photo

pytestmark = pytest.mark.e2e


@dataclass
class Shell:
    """Runs `pixelpress` with `home` as its config directory and the server's URL."""

    home: Path
    server: Server
    cwd: Path

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PIXELPRESS_")}
        env.update({"XDG_CONFIG_HOME": str(self.home), "PIXELPRESS_URL": self.server.base})
        env.update(extra)
        return env

    def run(
        self, *args: str, stdin: str | None = None, **env: str
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [PIXELPRESS, *args],
            input=stdin,
            cwd=self.cwd,
            env=self.env(**env),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def json(self, *args: str) -> Any:
        done = self.run(*args, "--json")
        assert done.returncode == 0, done.stdout + done.stderr
        return json.loads(done.stdout)

    @property
    def config(self) -> Path:
        return self.home / "pixelpress" / "config.json"


@pytest.fixture
def shell(server: Server, tmp_path: Path) -> Shell:
    return Shell(tmp_path / "config", server, tmp_path)


@pytest.fixture
def user(server: Server, shell: Shell) -> str:
    """A new user, logged in through the command line."""
    with server.signed_up() as pp:
        name = pp.me().username
    done = shell.run("login", "--username", name, "--password-stdin", stdin=PASSWORD + "\n")
    assert done.returncode == 0, done.stderr
    assert f"as {name}" in done.stdout
    return name


def test_login_keeps_the_session_readable_by_its_owner_only(shell: Shell, user: str) -> None:
    assert stat.S_IMODE(shell.config.stat().st_mode) == 0o600
    assert stat.S_IMODE(shell.config.parent.stat().st_mode) == 0o700
    saved = json.loads(shell.config.read_text())
    assert (saved["url"], saved["username"]) == (shell.server.base, user)
    refresh = saved["tokens"]["refresh_token"]
    assert shell.json("ls")["total"] == 0

    done = shell.run("logout")
    assert done.returncode == 0, done.stderr
    assert json.loads(shell.config.read_text())["tokens"] is None
    refused = shell.run("ls")
    assert refused.returncode == 1
    assert "Not logged in" in refused.stderr
    # the session ended on the server too
    again = httpx.post(f"{shell.server.base}/api/v1/auth/refresh", json={"refresh_token": refresh})
    assert again.status_code == 401


def test_a_wrong_password_is_refused_with_the_service_s_message(shell: Shell, user: str) -> None:
    done = shell.run("login", "-u", user, "--password-stdin", stdin="wrong password\n")
    assert done.returncode == 1
    assert "Invalid credentials. (invalid_credentials)" in done.stderr


def test_upload_a_folder_with_one_bad_file(shell: Shell, user: str, tmp_path: Path) -> None:
    folder = tmp_path / "holiday"
    (folder / "day2").mkdir(parents=True)
    (folder / "beach.jpg").write_bytes(photo(800, 600))
    (folder / "day2" / "dunes.png").write_bytes(photo(300, 200, ".png"))
    (folder / "notes.txt").write_text("not an image")
    (folder / ".DS_Store").write_bytes(b"\0" * 10)

    flat = shell.run("upload", str(folder))
    assert flat.returncode == 1
    assert "is a folder: add --recursive" in flat.stdout

    done = shell.run("upload", "--recursive", str(folder))
    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    ok = [line for line in lines if line.startswith("ok")]
    failed = [line for line in lines if line.startswith("failed")]
    assert [Path(line.split()[1]).name for line in ok] == ["beach.jpg", "dunes.png"]
    assert all("/s" in line and "kB" in line for line in ok)  # bytes and speed
    assert len(failed) == 1 and "notes.txt" in failed[0]
    assert "415 unsupported_media_type: This file type is not accepted" in failed[0]
    assert lines[-1] == "2 of 3 uploaded."
    stored = shell.json("ls")["items"]
    assert sorted(image["filename"] for image in stored) == ["beach.jpg", "dunes.png"]

    scripted = shell.run("upload", "-r", str(folder / "day2"), str(folder / "notes.txt"), "--json")
    assert scripted.returncode == 1
    results = json.loads(scripted.stdout)
    assert [(Path(r["path"]).name, r["ok"]) for r in results] == [
        ("dunes.png", True),
        ("notes.txt", False),
    ]
    assert results[0]["image"]["width"] == 300
    assert results[1]["error"]["code"] == "unsupported_media_type"


def test_transform_wait_out(shell: Shell, user: str, tmp_path: Path) -> None:
    (tmp_path / "p.jpg").write_bytes(photo(1000, 800))
    image_id = shell.json("upload", str(tmp_path / "p.jpg"))[0]["imageId"]

    planned = shell.json("transform", image_id, "--resize", "400x", "--format", "avif", "--dry-run")
    assert (planned["width"], planned["height"], planned["format"]) == (400, 320, "avif")

    out = tmp_path / "small.webp"
    args = ["--resize", "200x", "--format", "webp", "--filter", "grayscale"]
    done = shell.run("transform", image_id, *args, "--wait", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert f"Saved {out}" in done.stdout
    image = pyvips.Image.new_from_file(str(out))
    assert (image.width, image.get("vips-loader")[:8]) == (200, "webpload")
    point = image.getpoint(100, 100)
    assert image.bands <= 2 or point[0] == point[1] == point[2]

    result = shell.json("transform", image_id, "--width", "90", "--rotate", "90", "--out", "r.jpg")
    assert result["job"]["status"] == "processed"
    assert (result["variant"]["width"], result["variant"]["height"]) == (72, 90)
    assert result["saved"] == "r.jpg" and (tmp_path / "r.jpg").exists()

    bad = shell.run("transform", image_id, "--resize", "0x")
    assert bad.returncode == 1
    assert "(invalid_spec)" in bad.stderr


def test_presets_defined_listed_used_redefined_and_removed(
    shell: Shell, user: str, tmp_path: Path
) -> None:
    (tmp_path / "p.jpg").write_bytes(photo(640, 480))
    image_id = shell.json("upload", str(tmp_path / "p.jpg"))[0]["imageId"]
    made = shell.json("presets", "set", "thumb", "w_120,h_120,c_cover", "--public")
    assert (made["name"], made["options"], made["public"]) == ("thumb", "w_120,h_120,c_cover", True)
    listed = shell.run("presets", "ls")
    assert listed.returncode == 0 and "w_120,h_120,c_cover" in listed.stdout
    url = shell.run("url", image_id, "--preset", "thumb", "--format", "png").stdout.strip()
    assert "/t_thumb,f_png,v_" in url
    first = pyvips.Image.new_from_buffer(httpx.get(url).content, "")
    assert (first.width, first.height) == (120, 120)
    again = shell.run("presets", "set", "thumb", "w_60")  # redefined: the same URL follows
    assert again.returncode == 0 and "thumb = w_60" in again.stdout
    assert pyvips.Image.new_from_buffer(httpx.get(url).content, "").width == 60
    assert [p["name"] for p in shell.json("presets", "ls")] == ["thumb"]
    assert shell.run("presets", "rm", "thumb").returncode == 0
    gone = shell.run("presets", "rm", "thumb", "--json")
    assert gone.returncode == 1 and json.loads(gone.stdout)["code"] == "preset_not_found"
    refused = shell.run("presets", "set", "shared", "w_10", "--global")
    assert refused.returncode == 1 and "(admin_only)" in refused.stderr


def test_url_show_and_rm(shell: Shell, user: str, tmp_path: Path) -> None:
    (tmp_path / "p.jpg").write_bytes(photo(640, 480))
    image_id = shell.json("upload", str(tmp_path / "p.jpg"))[0]["imageId"]

    done = shell.run("url", image_id, "--width", "400", "--auto")
    assert done.returncode == 0, done.stderr
    url = done.stdout.strip()
    assert "/w_400,f_auto,v_" in url and url.endswith(f"/{image_id}")
    served = httpx.get(url, headers={"Accept": "image/webp"})
    assert (served.status_code, served.headers["content-type"]) == (200, "image/webp")
    minted = shell.json("url", image_id, "--crop", "0:0:100:100", "--expires-in", "60")
    assert minted["options"].startswith("cr_0:0:100:100,v_") and ",exp_" in minted["options"]

    shown = shell.run("show", image_id)
    assert shown.returncode == 0
    assert "p.jpg" in shown.stdout and "640x480" in shown.stdout
    assert shell.json("show", image_id)["id"] == image_id

    removed = shell.run("rm", image_id, "nope", "--json")
    assert removed.returncode == 1
    assert [(r["id"], r["ok"]) for r in json.loads(removed.stdout)] == [
        (image_id, True),
        ("nope", False),
    ]
    missing = shell.run("show", image_id, "--json")
    assert missing.returncode == 1
    assert json.loads(missing.stdout)["code"] == "image_not_found"


def test_the_environment_instead_of_a_login(shell: Shell, server: Server) -> None:
    with server.signed_up() as pp:
        assert pp.tokens is not None
        token = pp.tokens.access_token
    done = shell.run("ls", "--json", PIXELPRESS_TOKEN=token)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["total"] == 0
    assert not shell.config.exists()
    nobody = shell.run("ls")
    assert nobody.returncode == 1
    assert f"Not logged in to {server.base}" in nobody.stderr
    # PIXELPRESS_URL and PIXELPRESS_TOKEN are no settings of the server, which reads PIXELPRESS_*
    assert {"url", "token"}.isdisjoint(Settings.model_fields)


def test_renewed_tokens_are_saved(shell: Shell, user: str) -> None:
    saved = json.loads(shell.config.read_text())
    saved["tokens"]["access_token"] = expired(saved["tokens"]["access_token"])
    shell.config.write_text(json.dumps(saved))
    assert shell.json("ls")["total"] == 0
    renewed = json.loads(shell.config.read_text())["tokens"]
    assert renewed["refresh_token"] != saved["tokens"]["refresh_token"]
    assert stat.S_IMODE(shell.config.stat().st_mode) == 0o600
    assert shell.json("ls")["total"] == 0  # the spent refresh token was not used again


def test_logout_forgets_the_session_even_when_the_server_cannot_be_told(
    shell: Shell, user: str
) -> None:
    saved = json.loads(shell.config.read_text())
    saved["url"] = "http://127.0.0.1:9"  # nothing listens there
    shell.config.write_text(json.dumps(saved))
    done = shell.run("logout", PIXELPRESS_URL="http://127.0.0.1:9")
    assert done.returncode == 0, done.stderr
    assert "warning: the server was not told" in done.stderr and "(unreachable)" in done.stderr
    assert json.loads(shell.config.read_text())["tokens"] is None


def test_dry_run_names_the_faces_it_found(shell: Shell, user: str, tmp_path: Path) -> None:
    (tmp_path / "portrait.jpg").write_bytes(ASTRONAUT.read_bytes())
    image_id = shell.json("upload", str(tmp_path / "portrait.jpg"))[0]["imageId"]
    args = ["transform", image_id, "--width", "200", "--height", "300", "--gravity", "face"]
    planned = shell.run(*args, "--dry-run")
    assert planned.returncode == 0, planned.stderr
    assert re.search(r"^face at 1\d\d,\d\d: \d+x\d+$", planned.stdout, re.MULTILINE)
    [face] = shell.json(*args, "--dry-run")["faces"]
    assert overlap(Box(**face), ASTRONAUT_FACE) > 0.7
