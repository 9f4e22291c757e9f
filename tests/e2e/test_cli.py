"""The `pixelpress` command line, as an operator runs it."""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

from tests.e2e.processes import PIXELPRESS, environment


def run(args: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PIXELPRESS, *args],
        cwd=tmp_path,
        env=environment(data_dir=str(tmp_path / "var"), **env),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_migrate_then_create_admin(tmp_path: Path) -> None:
    migrated = run(["migrate"], tmp_path)
    assert migrated.returncode == 0, migrated.stderr
    assert "up to date" in migrated.stdout
    args = ["users", "create-admin", "--username", "root", "--email", "root@example.com"]
    created = run([*args, "--password", "long enough password"], tmp_path)
    assert created.returncode == 0, created.stderr
    db = sqlite3.connect(tmp_path / "var" / "pixelpress.db")
    assert db.execute("select username, role from users").fetchall() == [("root", "admin")]
    again = run([*args, "--password", "long enough password"], tmp_path)
    assert again.returncode == 1
    assert "already taken" in again.stderr
    weak = run(["users", "create-admin", "--username", "root2", "--email", "r2@example.com",
                "--password", "short"], tmp_path)  # fmt: skip
    assert weak.returncode == 1
    assert "8 to 128" in weak.stderr


def test_worker_needs_an_amqp_queue(tmp_path: Path) -> None:
    refused = run(["worker"], tmp_path)
    assert refused.returncode == 2
    assert "amqp://" in refused.stderr
