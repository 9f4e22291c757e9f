"""The API fuzzed from its own OpenAPI schema by schemathesis, against a real `pixelpress serve`
with the rate limits raised: positive and negative data over every operation, and every check
but one: no server error, every status, content type, header and body as the schema says, and
every schema-invalid request refused. (Left out: "schema-valid requests are accepted", since a
transformation spec is free-form JSON in the schema and the grammar refuses most of what a
generator writes; the property tests in tests/api cover the spec grammars instead.)

The same run by hand: see the README's Security section."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.processes import PIXELPRESS, environment, serve

pytestmark = pytest.mark.e2e

SCHEMATHESIS = str(Path(sys.executable).parent / "schemathesis")
PASSWORD = "correct horse battery"
RAISED = {
    f"rate_limit_{bucket}": "1000000"
    for bucket in ("default", "login", "upload", "transform", "render", "login_account")
}


@pytest.fixture
def fuzzed(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A served API and an admin's access token (so that admin routes are fuzzed too)."""
    env = environment(data_dir=str(tmp_path / "var"), **RAISED)
    created = subprocess.run(
        [PIXELPRESS, "users", "create-admin", "--username", "fuzzer", "--email",
         "fuzzer@example.com", "--password", PASSWORD],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    process, base = serve(env, tmp_path)
    try:
        r = httpx.post(
            f"{base}/api/v1/auth/login", json={"username": "fuzzer", "password": PASSWORD}
        )
        token = r.json()["access_token"]
        image = httpx.post(
            f"{base}/api/v1/images",
            headers={"Authorization": f"Bearer {token}"},
            files={"image": ("seed.jpg", _photo(), "image/jpeg")},
        )
        assert image.status_code == 201
        yield base, token
    finally:
        process.stop()


def _photo() -> bytes:
    from tests.images import photo

    return photo(64, 48)


def schemathesis(base: str, token: str, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run in `cwd` (schemathesis keeps a cache folder where it runs)."""
    return subprocess.run(
        [SCHEMATHESIS, "run", f"{base}/openapi.json",
         "--checks", "all", "--exclude-checks", "positive_data_acceptance",
         "--mode", "all", "--max-examples", "12", "--generation-deterministic",
         "--phases", "examples,coverage,fuzzing", "--header", f"Authorization: Bearer {token}",
         "--no-color", *args],
        capture_output=True, text=True, timeout=600, check=False, cwd=cwd,
    )  # fmt: skip


def test_schemathesis_finds_no_server_error_and_no_nonconformance(
    fuzzed: tuple[str, str], tmp_path: Path
) -> None:
    base, token = fuzzed
    # Everything but logout first (a logout would end the session the rest is fuzzed with)...
    run = schemathesis(base, token, tmp_path, "--exclude-path", "/api/v1/auth/logout")
    assert run.returncode == 0, run.stdout[-6000:]
    # The token held: only signed URLs (whose signatures a generator cannot forge) were refused
    # every time.
    assert "Authentication failed: 1 operation" in run.stdout, run.stdout[-3000:]
    assert "- GET /i/{signature}/{options}/{image}" in run.stdout
    assert " passed" in run.stdout
    # ... then logout alone.
    run = schemathesis(base, token, tmp_path, "--include-path", "/api/v1/auth/logout")
    assert run.returncode == 0, run.stdout[-6000:]
