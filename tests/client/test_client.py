"""`Client` against a live `pixelpress serve`: every operation, as an integrator calls it."""

from __future__ import annotations

import io
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest
import pyvips

from pixelpress.client import (
    AuthenticationError,
    Client,
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    Tokens,
    TooLargeError,
    TransportError,
    UnsupportedMediaError,
)
from tests.client.live import PASSWORD, SECRET_KEY, Server
from tests.images import photo

pytestmark = pytest.mark.e2e


@pytest.fixture
def pp(server: Server) -> Iterator[Client]:
    with server.signed_up() as client:
        yield client


def test_register_login_me_and_logout(server: Server) -> None:
    name = f"ada{uuid.uuid4().hex[:8]}"
    told: list[Tokens | None] = []
    with server.client(on_tokens=told.append) as first:
        session = first.register(name, f"{name}@example.com", PASSWORD)
        assert session.user.username == name
        assert first.me().id == session.user.id
        assert told[-1] is not None and told[-1].access_token == session.access_token
    with server.client() as second:
        by_email = second.login(f"{name}@example.com", PASSWORD, remember_me=True)
        assert by_email.user.id == session.user.id
        token = by_email.access_token
        second.logout()
        assert second.tokens is None
    with server.client(token=token) as stale, pytest.raises(AuthenticationError) as refused:
        stale.me()
    assert refused.value.code == "session_ended"
    assert refused.value.status == 401


def test_upload_a_path_bytes_and_streams_reporting_progress(pp: Client, tmp_path: Path) -> None:
    data = photo(900, 700, ".png")
    assert len(data) > 64 * 1024  # httpx reads 64 KiB at a time: several chunks
    path = tmp_path / "big.png"
    path.write_bytes(data)

    counts: list[tuple[int, int | None]] = []
    uploaded = pp.upload(path, progress=lambda sent, total: counts.append((sent, total)))
    assert uploaded.image.filename == "big.png"
    assert uploaded.image.size == len(data)
    assert len(counts) > 1
    assert [sent for sent, _ in counts] == sorted({sent for sent, _ in counts})
    assert counts[-1] == (len(data), len(data))

    from_bytes = pp.upload(data, filename="raw.png")
    assert (from_bytes.image.filename, from_bytes.image.size) == ("raw.png", len(data))
    from_stream = pp.upload(io.BytesIO(data), filename="stream.png")
    assert from_stream.image.content_hash == uploaded.image.content_hash

    class Pipe:
        """A stream that can only be read once, like a pipe: its length is unknown."""

        def __init__(self) -> None:
            self.inner = io.BytesIO(data)

        def read(self, size: int = -1) -> bytes:
            return self.inner.read(size)

    piped: list[tuple[int, int | None]] = []
    from_pipe = pp.upload(Pipe(), filename="pipe.png", progress=lambda *c: piped.append(c))  # type: ignore[arg-type]
    assert from_pipe.image.size == len(data)
    assert piped[-1] == (len(data), None)


def test_list_pages_and_iterate_over_all(pp: Client) -> None:
    ids = {pp.upload(photo(64, 48), filename=f"{n}.jpg").image_id for n in range(3)}
    first = pp.list_images(page=1, limit=2)
    assert (first.total, first.pages, len(first.items), first.next_page) == (3, 2, 2, 2)
    assert {image.id for image in pp.iter_images(limit=1)} == ids


def test_get_status_replace_and_delete(pp: Client) -> None:
    image_id = pp.upload(photo(320, 240)).image_id
    assert pp.get_image(image_id).width == 320
    assert pp.image_status(image_id).status == "uploaded"
    replaced = pp.replace_image(image_id, photo(200, 100), filename="new.jpg")
    assert (replaced.id, replaced.width, replaced.height) == (image_id, 200, 100)
    pp.delete_image(image_id)
    with pytest.raises(NotFoundError) as gone:
        pp.get_image(image_id)
    assert gone.value.code == "image_not_found"


def test_transform_wait_and_download(pp: Client, tmp_path: Path) -> None:
    image_id = pp.upload(photo(800, 600)).image_id
    spec = {"resize": "300x", "filter": "grayscale", "format": "webp"}
    planned = pp.dry_run(image_id, spec)
    assert (planned.width, planned.height, planned.format) == (300, 225, "webp")

    done = pp.transform(image_id, spec, wait=True)
    assert done.job is not None and done.job.status == "processed"
    assert (done.variant.status, done.variant.width) == ("ready", 300)

    out = tmp_path / "out.webp"
    written = pp.download(image_id, out, variant=done.variant_id)
    assert written == out.stat().st_size == done.variant.size
    assert pyvips.Image.new_from_file(str(out)).get("vips-loader").startswith("webpload")
    original = io.BytesIO()
    pp.download(image_id, original, variant="original")
    assert pyvips.Image.new_from_buffer(original.getvalue(), "").width == 800

    again = pp.transform(image_id, {"transformations": {"resize": {"width": 300},
                                    "filters": {"grayscale": True}, "format": "webp"}})  # fmt: skip
    assert (again.job_id, again.variant_id) == (None, done.variant_id)


def test_upload_with_transformations_then_wait_for_its_job(pp: Client) -> None:
    uploaded = pp.upload(photo(400, 300), transformations={"resize": "100x"})
    assert uploaded.job_id is not None
    job = pp.wait_for_job(uploaded.job_id)
    assert job.status == "processed"
    assert pp.get_job(uploaded.job_id).finished_at is not None


def test_a_failed_download_leaves_no_file(pp: Client, tmp_path: Path) -> None:
    image_id = pp.upload(photo(64, 64)).image_id
    out = tmp_path / "never.webp"
    with pytest.raises(NotFoundError):
        pp.download(image_id, out)  # no processed variant yet
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_mint_render_and_fetch(pp: Client) -> None:
    image_id = pp.upload(photo(640, 480)).image_id
    minted = pp.mint_url(image_id, {"resize": {"width": 200}}, auto_format=True, expires_in=600)
    assert minted.options.startswith("w_200,f_auto,v_") and ",exp_" in minted.options
    fetched = pp.fetch(minted.url)
    assert fetched.media_type == "image/jpeg"  # no Accept header: the fallback format
    assert pyvips.Image.new_from_buffer(fetched.content, "").width == 200
    rendered = pp.render(image_id, {"width": 120, "grayscale": True, "format": "png"})
    assert rendered.media_type == "image/png"
    assert rendered.etag
    assert pyvips.Image.new_from_buffer(rendered.content, "").width == 120


def test_presets_defined_used_edited_and_deleted(pp: Client) -> None:
    image_id = pp.upload(photo(640, 480)).image_id
    made = pp.create_preset("thumb", "q_75,w_200,h_200,c_cover", public=True)
    assert (made.options, made.public, made.is_global) == ("w_200,h_200,c_cover,q_75", True, False)
    assert [p.name for p in pp.list_presets()] == ["thumb"]
    minted = pp.mint_url(image_id, {"quality": 60}, preset="thumb")
    assert minted.options.startswith("t_thumb,q_60,v_")
    assert pyvips.Image.new_from_buffer(pp.fetch(minted.url).content, "").width == 200
    unsigned = pp.fetch(minted.url.split("/i/")[0] + f"/i/-/t_thumb/{image_id}.webp")
    assert unsigned.media_type == "image/webp"
    edited = pp.update_preset("thumb", transformations={"resize": "100x"})
    assert (edited.options, edited.public) == ("w_100", False)
    assert pp.get_preset("thumb").options == "w_100"
    assert pyvips.Image.new_from_buffer(pp.fetch(minted.url).content, "").width == 100
    with pytest.raises(PermissionDeniedError):  # no longer public
        pp.fetch(minted.url.split("/i/")[0] + f"/i/-/t_thumb/{image_id}.webp")
    with pytest.raises(PermissionDeniedError):
        pp.create_preset("everyone", "w_10", is_global=True)
    pp.delete_preset("thumb")
    with pytest.raises(NotFoundError):
        pp.get_preset("thumb")


def test_refusals_carry_the_envelope(server: Server, pp: Client) -> None:
    image_id = pp.upload(photo(100, 100)).image_id
    with pytest.raises(InvalidRequestError) as bad:
        pp.transform(image_id, {"resize": {"width": "wide"}})
    assert (bad.value.status, bad.value.code) == (400, "invalid_spec")
    with pytest.raises(InvalidRequestError) as senseless:
        pp.transform(image_id, {"resize": {"width": 0}})
    assert senseless.value.status == 422
    assert senseless.value.details[0]["field"] == "resize.width"
    with pytest.raises(UnsupportedMediaError) as text:
        pp.upload(b"just some text", filename="notes.txt")
    assert text.value.status == 415
    assert "image/jpeg" in str(text.value.details)
    with pytest.raises(TooLargeError) as large:
        pp.upload(b"\xff" * 1_050_000, filename="huge.jpg")
    assert large.value.details["limit"] == 1_000_000
    with pytest.raises(PermissionDeniedError) as admin_only:
        pp.admin_stats()
    assert admin_only.value.status == 403
    me = pp.me()
    with server.client() as other, pytest.raises(ConflictError) as taken:
        other.register(me.username, "someone.else@example.com", PASSWORD)
    assert taken.value.code in ("username_taken", "conflict")
    with server.client() as anonymous, pytest.raises(AuthenticationError) as unauthenticated:
        anonymous.list_images()
    assert unauthenticated.value.code == "not_authenticated"
    assert unauthenticated.value.request_id
    with Client("http://127.0.0.1:9", timeout=2) as nowhere, pytest.raises(TransportError) as e:
        nowhere.ready()
    assert (e.value.status, e.value.code) == (0, "unreachable")


def expired(access_token: str) -> str:
    """The same session's access token, expired: as the client finds it after 30 minutes."""
    claims = jwt.decode(access_token, options={"verify_signature": False})
    claims.update(iat=int(time.time()) - 3600, exp=int(time.time()) - 60)
    return jwt.encode(claims, SECRET_KEY, algorithm="HS256")


def test_an_expired_token_is_refreshed_and_the_request_sent_again(server: Server) -> None:
    told: list[Tokens | None] = []
    with server.signed_up(on_tokens=told.append) as pp:
        held = pp.tokens
        assert held is not None and held.refresh_token
        # The client does not know it expired: the service says so (401), then it refreshes.
        pp.tokens = Tokens(expired(held.access_token), held.refresh_token)
        assert pp.me().username
        renewed = pp.tokens
        assert renewed is not None and renewed.refresh_token != held.refresh_token
        assert told[-1] == renewed
        # It knows the token expires: it refreshes ahead of the request.
        pp.tokens = Tokens(renewed.access_token, renewed.refresh_token, time.time() - 1)
        assert pp.me().username
        assert pp.tokens is not None and pp.tokens.refresh_token != renewed.refresh_token
    # A spent refresh token presented again revokes its whole family.
    spent = Tokens("spent", held.refresh_token)
    with server.client(tokens=spent) as replay, pytest.raises(AuthenticationError):
        replay.me()


def test_notifications_and_logs(pp: Client) -> None:
    me = pp.me()
    preferences = pp.set_notification_preferences(email=True)
    assert (preferences.email, preferences.webhook_url) == (True, None)
    sent = pp.send_notification(me.id, "hello from the client")
    latest = pp.latest_notification(me.id)
    assert (latest.id, latest.message, latest.notification_type) == (sent.id, sent.message and
            "hello from the client", "email")  # fmt: skip
    assert [n.id for n in pp.list_notifications().items] == [sent.id]
    assert [n.id for n in pp.iter_notifications()] == [sent.id]

    image_id = pp.upload(photo(32, 32)).image_id
    created = pp.create_log("error", "widget crashed", image_id=image_id, context={"v": "1.2"})
    entry = pp.get_log(created.id)
    assert (entry.log_level, entry.context, entry.image_id) == ("error", {"v": "1.2"}, image_id)
    pp.create_log("info", "all fine")
    errors_only = pp.list_logs(level="error", since=entry.timestamp)
    assert [e.log_id for e in errors_only.items] == [created.id]
    assert {e.message for e in pp.iter_logs(limit=1)} >= {"widget crashed", "all fine"}


def test_admin_operations(server: Server) -> None:
    name, password = server.create_admin()
    with server.signed_up() as user, server.client() as admin:
        admin.login(name, password)
        victim = user.me()
        user.upload(photo(50, 50))
        stats = admin.admin_stats()
        assert stats.users >= 2 and stats.images >= 1
        assert victim.id in {u.id for u in admin.admin_iter_users(limit=2)}
        assert admin.admin_list_users(limit=1).total == stats.users
        assert admin.admin_list_images().total == stats.images
        disabled = admin.admin_update_user(victim.id, disabled=True)
        assert disabled.disabled
        with pytest.raises(AuthenticationError) as refused:
            user.me()
        assert refused.value.code == "account_disabled"
        admin.admin_delete_user(victim.id)
        assert victim.id not in {u.id for u in admin.admin_iter_users()}


def test_ready(server: Server) -> None:
    with server.client() as pp:
        ready = pp.ready()
    assert ready.status == "ready"
    assert set(ready.checks) == {"database", "storage", "queue", "cache"}
