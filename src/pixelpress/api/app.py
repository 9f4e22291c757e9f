"""create_app: the FastAPI application around one Services."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager

from fastapi import APIRouter, FastAPI
from starlette.types import Receive, Scope, Send

from pixelpress import __version__
from pixelpress.api import docs, errors, openapi, routing
from pixelpress.api.body_limit import BodyLimitMiddleware
from pixelpress.api.deps import services_of
from pixelpress.api.fastpath import SignedHits
from pixelpress.api.observability import ObservabilityMiddleware
from pixelpress.api.ratelimit import RateLimitMiddleware, Spender, carries_image
from pixelpress.api.routes import (
    admin,
    auth,
    console,
    delivery,
    files,
    health,
    images,
    logs,
    minting,
    notifications,
    presets,
)
from pixelpress.api.schemas import ERRORS
from pixelpress.bootstrap import api_config, build_services
from pixelpress.services import Services
from pixelpress.settings import Settings
from pixelpress.usecases import logs as log_service

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]
JSON_BODY_LIMIT = 1024 * 1024
MULTIPART_OVERHEAD = 128 * 1024


def api_router() -> APIRouter:
    router = routing.api_router(responses=ERRORS)
    router.include_router(auth.router)
    router.include_router(images.router)
    router.include_router(notifications.router)
    router.include_router(logs.router)
    router.include_router(admin.router)
    router.include_router(delivery.router)
    router.include_router(minting.router)
    router.include_router(presets.router)
    return router


class PixelpressApp(FastAPI):
    """FastAPI, with the hit path first (before FastAPI's own work on every request)."""

    hits: SignedHits | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.hits is None or not await self.hits.answered(scope, send):
            await super().__call__(scope, receive, send)


def create_app(settings: Settings | None = None, *, services: Services | None = None) -> FastAPI:
    """With `services`, the caller owns their lifetime (tests); otherwise the app builds them from
    `settings` at start-up and closes them at shutdown. Either way, what the HTTP layer is told
    comes from the root (`ApiConfig`), never from Settings at request time."""
    lifespan: Lifespan
    if services is not None:
        config, lifespan = services.api, _borrowed
    else:
        owned = settings or Settings()
        config, lifespan = api_config(owned), _owning(owned)

    app = PixelpressApp(
        title="Pixelpress",
        version=__version__,
        description="Self-hosted image processing: accounts, an image library, transformations.",
        lifespan=lifespan,
        docs_url=None,  # served from an installed package instead of a CDN: see api/docs.py
        redoc_url=None,
    )
    if services is not None:
        app.state.services = services
    errors.install(app)
    # First: routes are matched in order, and signed delivery is the hot path.
    app.router.routes.append(delivery.public)
    app.include_router(files.router, responses=ERRORS)
    app.include_router(api_router(), prefix="/api/v1")
    app.include_router(api_router(), prefix="/api", include_in_schema=False)
    app.include_router(health.router)
    docs.install(app)
    openapi.install(app, config.limits)
    console.mount(app)

    upload_limit = config.limits.max_bytes + MULTIPART_OVERHEAD
    app.add_middleware(
        BodyLimitMiddleware,
        limit_for=lambda method, path: (
            upload_limit if carries_image(method, path) else JSON_BODY_LIMIT
        ),
    )
    spender = Spender(lambda: services_of(app).rate_limiter, config.buckets, config.trusted_proxies)
    app.state.spender = spender  # routes budget the renders they cause with it
    app.add_middleware(
        RateLimitMiddleware,
        spender=spender,
        tokens=lambda: services_of(app).tokens,
        on_block=lambda caller, bucket: record_rate_limit_block(services_of(app), caller, bucket),
    )
    # Sees every answer the app gives, 413s and 429s included.
    app.add_middleware(ObservabilityMiddleware, metrics=lambda: services_of(app).metrics)
    # In front of it all: signed-URL hits held in memory, answered with the same checks,
    # headers, request id and metrics, without the stack (see api/fastpath.py).
    app.hits = SignedHits(services=lambda: services_of(app))
    return app


@contextlib.asynccontextmanager
async def _borrowed(app: FastAPI) -> AsyncIterator[None]:
    yield


def _owning(settings: Settings) -> Lifespan:
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with build_services(settings) as built:
            app.state.services = built
            # What start-up made lives as long as the process: out of the collector's sight, a
            # full collection no longer walks it (it held requests up by tens of milliseconds).
            gc.collect()  # start-up's garbage first, or it would be kept for good
            gc.freeze()
            yield

    return lifespan


async def record_rate_limit_block(services: Services, caller: str, bucket: str) -> None:
    await log_service.record_rate_limit_block(
        caller, bucket, db=services.db, cache=services.cache, clock=services.clock
    )
