"""What the client does with answers that are not the one it wanted: 429 and 503 sent again
after Retry-After within the caller's bound, a proxy's error page, an event stream that never
comes (polling takes over), a job that failed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from pixelpress.client import (
    Client,
    JobFailedError,
    RateLimitedError,
    ServerError,
    Tokens,
    UnavailableError,
)
from tests.client.live import Server, running
from tests.client.upstream import Answer, Front, front, refusal
from tests.images import photo

pytestmark = pytest.mark.e2e
ME = "/api/v1/auth/me"


@pytest.fixture
def tokens(server: Server) -> Tokens:
    with server.signed_up() as pp:
        assert pp.tokens is not None
        return pp.tokens


@pytest.fixture
def fronted(server: Server) -> Iterator[Front]:
    yield from front(server.base)


def paths(fronted: Front) -> list[str]:
    return [p.split("?")[0] for _, p, _ in fronted.seen]


def test_429_and_503_are_sent_again_after_their_retry_after(fronted: Front, tokens: Tokens) -> None:
    fronted.answers = [refusal(429, "rate_limited", "1"), refusal(503, "unavailable", "1")]
    with Client(fronted.base, tokens=tokens) as pp:
        assert pp.me().username
    assert paths(fronted) == [ME, ME, ME]


def test_a_wait_past_the_bound_is_not_started(fronted: Front, tokens: Tokens) -> None:
    fronted.answers = [refusal(429, "rate_limited", "1"), refusal(429, "rate_limited", "1")]
    bounded = Client(fronted.base, tokens=tokens, max_retry_wait=1.5)
    with bounded as pp, pytest.raises(RateLimitedError) as refused:
        pp.me()
    assert (refused.value.status, refused.value.code, refused.value.retry_after) == (
        429,
        "rate_limited",
        1.0,
    )
    assert paths(fronted) == [ME, ME]  # one wait of 1 s fitted in 1.5 s, a second did not

    fronted.seen.clear()
    fronted.answers = [refusal(503, "cache_unavailable", "30")]
    once = Client(fronted.base, tokens=tokens, max_retries=0)
    with once as pp, pytest.raises(UnavailableError) as down:
        pp.me()
    assert (down.value.code, down.value.retry_after) == ("cache_unavailable", 30.0)
    assert paths(fronted) == [ME]


def test_an_upload_refused_with_429_is_sent_whole_again(fronted: Front, tokens: Tokens) -> None:
    data = photo(900, 700, ".png")
    fronted.answers = [refusal(429, "rate_limited", "1")]
    fronted.intercept = lambda method, path: method == "POST"
    counts: list[int] = []
    with Client(fronted.base, tokens=tokens) as pp:
        uploaded = pp.upload(data, filename="p.png", progress=lambda sent, _: counts.append(sent))
    assert uploaded.image.size == len(data)
    posts = [size for method, _, size in fronted.seen if method == "POST"]
    assert len(posts) == 2 and posts[0] == posts[1] > len(data)  # the multipart body, twice
    assert counts.count(len(data)) == 2  # progress ran to the end on each attempt


def test_an_answer_without_the_envelope(fronted: Front, tokens: Tokens) -> None:
    fronted.answers = [Answer(502, b"<html>Bad Gateway</html>", {"Content-Type": "text/html"})]
    with Client(fronted.base, tokens=tokens) as pp, pytest.raises(ServerError) as refused:
        pp.me()
    assert (refused.value.status, refused.value.code, refused.value.message) == (
        502,
        "http_502",
        "Bad Gateway",
    )
    assert paths(fronted) == [ME]  # a 502 is not retried


def test_waiting_follows_the_event_stream(fronted: Front, tokens: Tokens) -> None:
    with Client(fronted.base, tokens=tokens) as pp:
        image_id = pp.upload(photo(640, 480)).image_id
        job_id = pp.transform(image_id, {"resize": "100x"}).job_id
        assert job_id is not None
        assert pp.wait_for_job(job_id).status == "processed"
    assert f"/api/v1/jobs/{job_id}/events" in paths(fronted)
    assert f"/api/v1/jobs/{job_id}" not in paths(fronted)


def test_waiting_polls_when_the_event_stream_is_not_passed_on(
    fronted: Front, tokens: Tokens
) -> None:
    page = Answer(200, b"<html>buffered by a proxy</html>", {"Content-Type": "text/html"})
    fronted.answers = [page]
    fronted.intercept = lambda method, path: path.endswith("/events")
    with Client(fronted.base, tokens=tokens) as pp:
        image_id = pp.upload(photo(640, 480)).image_id
        job_id = pp.transform(image_id, {"resize": "90x"}).job_id
        assert job_id is not None
        job = pp.wait_for_job(job_id, poll_interval=0.2)
    assert job.status == "processed"
    assert f"/api/v1/jobs/{job_id}" in paths(fronted)


def test_a_failed_job_raises_with_its_code(fronted: Front, tokens: Tokens) -> None:
    failed = {
        "id": "j1",
        "imageId": "i1",
        "status": "failed",
        "variantId": "v1",
        "attempts": 3,
        "error": "The source could not be decoded.",
        "code": "decode_failed",
        "created_at": "2026-01-01T00:00:00Z",
        "started_at": "2026-01-01T00:00:01Z",
        "finished_at": "2026-01-01T00:00:02Z",
    }
    stream = f"id: j1-failed\nevent: status\ndata: {json.dumps(failed)}\n\n".encode()
    fronted.answers = [Answer(200, stream, {"Content-Type": "text/event-stream"})]
    with Client(fronted.base, tokens=tokens) as pp, pytest.raises(JobFailedError) as ended:
        pp.wait_for_job("j1")
    assert (ended.value.code, ended.value.message) == ("decode_failed", failed["error"])
    assert ended.value.job.attempts == 3


def test_the_service_s_own_429_past_the_bound(tmp_path: Path) -> None:
    tiny = running(tmp_path, rate_limit_default="3")
    server = next(tiny)
    try:
        with server.signed_up(max_retry_wait=5) as pp:
            for _ in range(3):
                pp.me()
            with pytest.raises(RateLimitedError) as refused:
                pp.me()
    finally:
        tiny.close()
    assert (refused.value.status, refused.value.code) == (429, "rate_limited")
    assert refused.value.message == "Rate limit exceeded. Please try again later."
    assert refused.value.retry_after is not None and refused.value.retry_after > 5
