"""Pieces of the client that need no server: Retry-After, URLs, paths, query values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx

from pixelpress.client import errors
from pixelpress.client._program import Core, RetryPolicy, path, query


def answer(retry_after: str) -> httpx.Response:
    return httpx.Response(429, headers={"Retry-After": retry_after})


def test_retry_after_in_seconds_or_as_a_date() -> None:
    assert errors.retry_after(answer("7")) == 7.0
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=120), usegmt=True)
    assert 100 < (errors.retry_after(answer(later)) or 0) <= 120
    past = format_datetime(datetime(2020, 1, 1, tzinfo=UTC), usegmt=True)
    assert errors.retry_after(answer(past)) == 0.0
    assert errors.retry_after(answer("soon")) is None
    assert errors.retry_after(httpx.Response(429)) is None
    # without one, the client waits 1, 2, 4… seconds
    assert [RetryPolicy().delay(httpx.Response(503), n) for n in range(3)] == [1.0, 2.0, 4.0]


def test_urls_paths_and_query_values() -> None:
    for base in ("http://h:1", "http://h:1/", "http://h:1/api/v1", "http://h:1/api/v1/"):
        core = Core(base, tokens=None, on_tokens=None, retry=RetryPolicy())
        assert core.url("/images") == "http://h:1/api/v1/images"
        assert core.url("https://s3.example/b/k?X-Amz=1") == "https://s3.example/b/k?X-Amz=1"
    assert path("images", "../admin/users", "status") == "/images/..%2Fadmin%2Fusers/status"
    assert query({"grayscale": True, "flip": False, "width": 300, "fit": None}) == {
        "grayscale": "true",
        "flip": "false",
        "width": "300",
    }


def test_refusals_map_to_one_class_per_status_family() -> None:
    envelope = {"error": "Too big.", "code": "too_many_frames", "details": {"limit": 100},
                "statusCode": 413}  # fmt: skip
    refused = errors.from_response(httpx.Response(413, json=envelope))
    assert isinstance(refused, errors.TooLargeError)
    assert (refused.status, refused.code, refused.details) == (
        413,
        "too_many_frames",
        {"limit": 100},
    )
    assert refused.envelope() == envelope
    assert type(errors.from_response(httpx.Response(418))) is errors.ClientError
    assert type(errors.from_response(httpx.Response(500))) is errors.ServerError
    assert isinstance(errors.from_response(httpx.Response(422)), errors.InvalidRequestError)
