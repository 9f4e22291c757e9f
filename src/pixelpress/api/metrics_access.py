"""Who may read /metrics: anyone, unless the operator set PIXELPRESS_METRICS_TOKEN; then only
a request with `Authorization: Bearer <that token>` (401 in the error envelope otherwise)."""

from __future__ import annotations

from fastapi import Request

from pixelpress.api.deps import Config, bearer_token
from pixelpress.domain import signing
from pixelpress.domain.errors import Unauthenticated


async def require_metrics_token(request: Request, config: Config) -> None:
    expected = config.metrics_token
    if not expected:
        return
    given = bearer_token(request)
    if given is None or not signing.equal(expected, given):
        raise Unauthenticated(
            "Metrics need the operator's token: Authorization: Bearer <PIXELPRESS_METRICS_TOKEN>.",
            code="metrics_token_required",
        )
