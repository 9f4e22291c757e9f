"""The `pixelpress` command line, as an operator runs it."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

from pixelpress.bootstrap.table import build_database
from pixelpress.domain.models import Page
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


async def accounts(path: Path) -> list[tuple[str, str]]:
    """(username, role) of every user in the database at `path`, read through its port."""
    db = build_database(f"sqlite:///{path}")
    try:
        async with db.unit_of_work(readonly=True) as uow:
            found = await uow.users.list_page(Page(1, 100))
    finally:
        await db.close()
    return [(user.username, str(user.role)) for user in found.items]


def test_migrate_then_create_admin(tmp_path: Path) -> None:
    migrated = run(["migrate"], tmp_path)
    assert migrated.returncode == 0, migrated.stderr
    assert "up to date" in migrated.stdout
    args = ["users", "create-admin", "--username", "root", "--email", "root@example.com"]
    created = run([*args, "--password", "long enough password"], tmp_path)
    assert created.returncode == 0, created.stderr
    assert asyncio.run(accounts(tmp_path / "var" / "pixelpress.db")) == [("root", "admin")]
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
