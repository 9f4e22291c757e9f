"""A world for the use cases, built from the embedded adapters (SQLite in a temporary folder,
obstore's memory store, the in-memory cache) with the fake processor, clock and queues of
tests/fakes.py. Tests call the use-case functions on it directly: no HTTP."""

from __future__ import annotations

import asyncio
import hashlib
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest

from pixelpress.adapters.cache_memory import MemoryCache
from pixelpress.adapters.sql.database import SqlDatabase
from pixelpress.adapters.sql.migrate import upgrade
from pixelpress.adapters.storage_obstore import ObstoreStorage
from pixelpress.bootstrap.table import build_database
from pixelpress.domain.ids import new_id
from pixelpress.domain.models import Image, ImageLimits, Role, User
from pixelpress.domain.spec import TransformSpec
from pixelpress.ports import ObjectStorage
from pixelpress.usecases.admission import RenderGate
from pixelpress.usecases.delivery import Deliverer
from pixelpress.usecases.images import ImageView, Upload, replace_image, upload_image
from pixelpress.usecases.jobs import JobRunner, run_job
from pixelpress.usecases.records import RecordCache
from tests.fakes import ClockQueue, FakeClock, FakeImageProcessor, fake_image


@pytest.fixture(scope="session")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An SQLite database at the head of the migrations, made once and copied for each test
    (running the history costs more than most of these tests)."""
    path = tmp_path_factory.mktemp("template") / "pixelpress.db"

    async def make() -> None:
        db = build_database(f"sqlite:///{path}")
        try:
            await upgrade(db.engine)
        finally:
            await db.close()

    asyncio.run(make())
    return path


@dataclass
class World:
    db: SqlDatabase
    storage: ObjectStorage
    cache: MemoryCache
    clock: FakeClock
    processor: FakeImageProcessor
    jobs: ClockQueue
    """Image jobs."""
    notices: ClockQueue
    """Notifications."""
    folder: Path
    limits: ImageLimits = field(default_factory=ImageLimits)

    def runner(self, **overrides: Any) -> JobRunner:
        made = JobRunner(
            db=self.db,
            storage=self.storage,
            processor=self.processor,
            clock=self.clock,
            queue=self.jobs,
            notices=self.notices,
            lease_seconds=60,
            max_attempts=3,
            retry_base_seconds=2,
        )
        return replace(made, **overrides)

    async def work(self) -> None:
        """Runs every job due by now, and those they publish for now, as a worker would."""
        runner = self.runner()
        while due := self.jobs.take_due():
            for job_id in due:
                await run_job(job_id, runner=runner)

    def deliverer(self, **overrides: Any) -> Deliverer:
        made = Deliverer(
            db=self.db,
            storage=self.storage,
            cache=self.cache,
            records=RecordCache(self.cache, inline_bytes=64 * 1024),
            processor=self.processor,
            clock=self.clock,
            limits=self.limits,
            gate=RenderGate(slots=4, wait_seconds=2),
        )
        return replace(made, **overrides)

    async def user(self, name: str = "alice", **fields: Any) -> User:
        made = User(
            new_id(), name, f"{name}@example.com", "hash", Role.USER, self.clock.now(), **fields
        )
        async with self.db.unit_of_work() as uow:
            await uow.users.add(made)
            await uow.commit()
        return made

    def upload_of(self, width: int, height: int, tag: str = "") -> Upload:
        # A colour of its own: two uploads of one size differ (as their hashes must).
        data = fake_image(
            width, height, colour="#" + hashlib.sha256((tag or new_id()).encode()).hexdigest()[:6]
        )
        path = self.folder / f"upload-{new_id()}"
        path.write_bytes(data)
        return Upload(path, "photo.jpg", len(data), hashlib.sha256(data).hexdigest())

    async def image(
        self,
        owner: User,
        width: int = 800,
        height: int = 600,
        spec: TransformSpec | None = None,
    ) -> Image:
        """An image uploaded by `owner` (its jobs, if any, wait in `jobs`)."""
        view, _ = await upload_image(
            self.upload_of(width, height),
            user=owner,
            spec=spec,
            db=self.db,
            storage=self.storage,
            processor=self.processor,
            queue=self.jobs,
            clock=self.clock,
            limits=self.limits,
        )
        return view.image

    async def replace(self, image: Image, owner: User, width: int, height: int) -> ImageView:
        """`image` replaced by `owner` with new bytes of `width` x `height`."""
        return await replace_image(
            image.id,
            self.upload_of(width, height),
            user=owner,
            db=self.db,
            storage=self.storage,
            processor=self.processor,
            cache=self.cache,
            queue=self.jobs,
            clock=self.clock,
            limits=self.limits,
        )


@pytest.fixture
async def world(migrated: Path, tmp_path: Path) -> AsyncIterator[World]:
    path = tmp_path / "pixelpress.db"
    shutil.copyfile(migrated, path)
    clock = FakeClock()
    db = build_database(f"sqlite:///{path}")
    try:
        yield World(
            db=db,
            storage=ObstoreStorage.memory(),
            cache=MemoryCache(),
            clock=clock,
            processor=FakeImageProcessor(),
            jobs=ClockQueue(clock),
            notices=ClockQueue(clock),
            folder=tmp_path,
        )
    finally:
        await db.close()
