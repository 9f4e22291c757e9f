"""A live `pixelpress serve` (the embedded default) for the client's tests: one for them all."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from pixelpress.client import Client
from tests.e2e.processes import PIXELPRESS, environment, serve

SECRET_KEY = "client-tests-secret-key-long-enough-for-hs256"
URL_KEY = "client-tests-url-signing-key"
PASSWORD = "correct horse battery"
UNLIMITED = {
    f"rate_limit_{bucket}": "10000"
    for bucket in ("default", "login", "upload", "transform", "login_account", "render")
}


@dataclass(frozen=True)
class Server:
    base: str
    env: dict[str, str]
    cwd: Path

    def client(self, **options: object) -> Client:
        return Client(self.base, **options)  # type: ignore[arg-type]

    def signed_up(self, **options: object) -> Client:
        """A client signed in as a new user of its own."""
        client = self.client(**options)
        name = f"u{uuid.uuid4().hex[:10]}"
        client.register(name, f"{name}@example.com", PASSWORD)
        return client

    def create_admin(self) -> tuple[str, str]:
        """An admin, made as an operator makes one (`pixelpress users create-admin`)."""
        name = f"admin{uuid.uuid4().hex[:8]}"
        args = ["users", "create-admin", "--username", name, "--email", f"{name}@example.com"]
        done = subprocess.run(
            [PIXELPRESS, *args, "--password", PASSWORD],
            cwd=self.cwd,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return name, PASSWORD


def running(tmp: Path, **settings: str) -> Iterator[Server]:
    """Serves on a free port until the generator is closed (for module-scoped fixtures)."""
    env = environment(
        data_dir=str(tmp / "var"),
        secret_key=SECRET_KEY,
        url_signing_keys=f'["{URL_KEY}"]',
        **{**UNLIMITED, **settings},
    )
    process, base = serve(env, tmp)
    try:
        yield Server(base, env, tmp)
    finally:
        process.stop()


@pytest.fixture(scope="package")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from running(tmp_path_factory.mktemp("server"), max_upload_bytes="1000000")
