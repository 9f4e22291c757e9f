"""JobQueue over taskiq. The message is only a job id: the jobs table is the truth about work."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from taskiq import InMemoryBroker

from pixelpress.ports import JobHandler

SCHEMES = ("memory",)
TASK_NAME = "pixelpress.run_job"


class TaskiqJobQueue:
    def __init__(self, broker: Any, *, in_process: bool) -> None:
        self._broker = broker
        self._task: Any = None
        self.in_process = in_process
        """True when jobs run inside this process (nothing else can be working on them)."""

    @classmethod
    def from_url(cls, url: str) -> TaskiqJobQueue:
        scheme = urlparse(url).scheme
        if scheme == "memory":
            return cls(InMemoryBroker(propagate_exceptions=False), in_process=True)
        raise ValueError(
            f"Unsupported queue URL scheme {scheme!r}; use one of: {', '.join(SCHEMES)}"
        )

    async def start(self, handler: JobHandler, *, consume: bool) -> None:
        async def run_job(job_id: str) -> None:
            await handler(job_id)

        self._task = self._broker.register_task(run_job, task_name=TASK_NAME)
        await self._broker.startup()

    async def publish(self, job_id: str) -> None:
        assert self._task is not None, "start() the queue before publishing"
        await self._task.kiq(job_id)

    async def stop(self) -> None:
        await self._broker.shutdown()

    async def drain(self) -> None:
        """Waits for the jobs running in this process (the in-memory broker only)."""
        if isinstance(self._broker, InMemoryBroker):
            await self._broker.wait_all()

    async def ping(self) -> None:
        return None
