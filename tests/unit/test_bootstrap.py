"""Settings alone pick the adapters; an unknown scheme stops the start with the allowed list."""

from __future__ import annotations

from pathlib import Path

import pytest

from pixelpress.adapters.cache_memory import MemoryCache
from pixelpress.adapters.sql.database import async_url
from pixelpress.bootstrap import build_cache, build_services
from tests.conftest import make_settings


def test_operators_database_urls_get_our_async_driver() -> None:
    assert async_url("postgresql://u:p@db:5432/x") == "postgresql+asyncpg://u:p@db:5432/x"
    assert async_url("postgres://u:p@db/x").startswith("postgresql+asyncpg://")
    assert async_url("sqlite:///var/p.db") == "sqlite+aiosqlite:///var/p.db"
    with pytest.raises(ValueError, match="sqlite, postgresql"):
        async_url("mysql://u@db/x")


def test_caches_by_scheme() -> None:
    assert isinstance(build_cache("memory://", "p"), MemoryCache)
    from pixelpress.adapters.degraded import DegradedCache

    # Redis, with this process's memory standing in while it is down
    assert isinstance(build_cache("redis://127.0.0.1:6379/0", "p"), DegradedCache)
    with pytest.raises(ValueError, match="memory, redis, rediss"):
        build_cache("memcached://x", "p")


@pytest.mark.parametrize(
    ("setting", "value", "allowed"),
    [
        ("storage_url", "ftp://x/y", "file, memory, s3"),
        ("queue_url", "nats://x", "memory, amqp, amqps, kafka, kafkas"),
        ("cache_url", "memcached://x", "memory, redis, rediss"),
    ],
)
async def test_unknown_schemes_fail_at_start_up(
    tmp_path: Path, setting: str, value: str, allowed: str
) -> None:
    with pytest.raises(ValueError, match=allowed):
        async with build_services(make_settings(tmp_path, **{setting: value})):
            pass


def test_secret_key_is_generated_once_and_kept(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, secret_key="")
    first = settings.resolved_secret_key()
    assert len(first) >= 32
    assert make_settings(tmp_path, secret_key="").resolved_secret_key() == first
    assert (tmp_path / "var" / "secret_key").stat().st_mode & 0o077 == 0


def test_s3_credentials_fall_back_to_the_aws_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    from pixelpress.settings import Settings

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "from-aws")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret-from-aws")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.s3_access_key_id == "from-aws"
    assert settings.s3_secret_access_key == "secret-from-aws"
    monkeypatch.setenv("PIXELPRESS_S3_ACCESS_KEY_ID", "ours")
    assert Settings(_env_file=None).s3_access_key_id == "ours"  # type: ignore[call-arg]
