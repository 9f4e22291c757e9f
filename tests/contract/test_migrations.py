"""Migrations over data: what an upgrade does to rows written by earlier versions."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from pixelpress.adapters.sql.database import SqlDatabase
from pixelpress.adapters.sql.migrate import upgrade
from pixelpress.domain.models import Page


async def test_rows_with_unencodable_text_are_repaired(tmp_path: Path) -> None:
    """Before text was checked at the door, SQLite kept a lone surrogate as a JSON escape and
    every listing that read it back failed. The upgrade removes such never-rendered variants
    with their jobs and mends log contexts; the rest is untouched."""
    db = SqlDatabase(make_url(f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"))
    await upgrade(db.engine, "0004")
    now = "2026-11-01 00:00:00.000000"
    bad = json.dumps({"watermark": {"text": "\ud800", "position": "bottom-right"}})
    good = json.dumps({"rotate": 90})
    async with db.engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO users (id, username, email, password_hash, role, disabled, "
                "created_at, notify_email) VALUES ('u', 'ada', 'ada@example.com', 'h', 'user', "
                "0, :now, 0)"
            ),
            {"now": now},
        )
        await conn.execute(
            text(
                "INSERT INTO images (id, owner_id, filename, format, width, height, frames, size,"
                " content_hash, storage_key, created_at) VALUES ('i', 'u', 'a.jpg', 'jpeg', 10,"
                " 10, 1, 100, 'h', 'k', :now)"
            ),
            {"now": now},
        )
        for vid, spec in (("bad", bad), ("good", good)):
            await conn.execute(
                text(
                    "INSERT INTO variants (id, image_id, spec_hash, spec, storage_key, format, "
                    "status, created_at, flattened) VALUES (:id, 'i', :id, :spec, :id, 'jpeg', "
                    "'failed', :now, 0)"
                ),
                {"id": vid, "spec": spec, "now": now},
            )
            await conn.execute(
                text(
                    "INSERT INTO jobs (id, image_id, variant_id, owner_id, status, created_at, "
                    "attempts) VALUES (:id, 'i', :id, 'u', 'failed', :now, 1)"
                ),
                {"id": vid, "now": now},
            )
        await conn.execute(
            text(
                "INSERT INTO logs (id, level, message, timestamp, created_at, user_id, source, "
                "context) VALUES ('l', 'info', 'm', :now, :now, 'u', 'client', :context)"
            ),
            {"now": now, "context": json.dumps({"k\udc00": ["\x00", "fine"]})},
        )
    await upgrade(db.engine)
    async with db.unit_of_work(readonly=True) as uow:
        variants = (await uow.variants.list_for_images(["i"]))["i"]
        jobs = (await uow.jobs.list_for_images(["i"]))["i"]
        entry = await uow.logs.get("l")
        assert (await uow.images.list_page("u", Page(1, 10))).total == 1
    assert [v.id for v in variants] == ["good"]
    assert [j.id for j in jobs] == ["good"]
    assert entry is not None and entry.context == {"k\ufffd": ["\ufffd", "fine"]}
    json.dumps(entry.context).encode()  # answerable now
    await db.close()
