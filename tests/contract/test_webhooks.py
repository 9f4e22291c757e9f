"""Webhooks are never sent to internal addresses: checked on every resolved address, at send
time and at registration. A loopback canary proves nothing left."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from pixelpress.adapters.webhook_httpx import HttpxWebhookSender
from pixelpress.domain.errors import Forbidden
from tests import receivers

UNSAFE = [
    "http://127.0.0.1/hook",
    "http://localhost/hook",  # a name that resolves to loopback
    "http://[::1]/hook",
    "http://169.254.169.254/latest/meta-data/",  # cloud metadata
    "http://10.0.0.1/hook",
    "http://192.168.1.10/hook",
    "http://172.16.5.4/hook",
    "http://100.64.0.1/hook",  # carrier-grade NAT
    "http://0x7f000001/hook",  # 127.0.0.1 in hex
    "http://2130706433/hook",  # 127.0.0.1 as one number
    "http://[::ffff:127.0.0.1]/hook",  # IPv4-mapped loopback
    "http://0.0.0.0/hook",
    "http://[fe80::1]/hook",
    "file:///etc/passwd",
    "ftp://example.com/x",
    "gopher://127.0.0.1:6379/_INFO",
    "http://user:pass@example.com/hook",
]


@pytest.fixture
def canary() -> Iterator[receivers.Receiver]:
    yield from receivers.webhook_receiver()


@pytest.mark.parametrize("url", UNSAFE)
async def test_internal_targets_are_refused(url: str, canary: receivers.Receiver) -> None:
    sender = HttpxWebhookSender()
    with pytest.raises(Forbidden) as caught:
        await sender.post(url, b"{}", {"Content-Type": "application/json"})
    assert caught.value.code == "unsafe_url"
    with pytest.raises(Forbidden):
        await sender.check_url(url)
    assert canary.received == []


async def test_the_canary_itself_is_refused_unless_loopback_is_allowed(
    canary: receivers.Receiver,
) -> None:
    with pytest.raises(Forbidden):
        await HttpxWebhookSender().post(canary.url, b"{}", {})
    assert canary.received == []
    allowed = HttpxWebhookSender(allow_loopback=True)
    result = await allowed.post(canary.url, b'{"ok":1}', {"X-Test": "1"})
    assert result.accepted
    assert canary.received[0].body == b'{"ok":1}'
    assert canary.received[0].headers["X-Test"] == "1"
    # loopback only: private ranges stay refused even then
    with pytest.raises(Forbidden):
        await allowed.post("http://10.0.0.1/hook", b"{}", {})


async def test_a_public_name_that_resolves_inside_is_refused(
    monkeypatch: pytest.MonkeyPatch, canary: receivers.Receiver
) -> None:
    """DNS decides, not the name: a patched resolver answers with loopback for a public name."""
    real = socket.getaddrinfo

    def resolver(host: str, *args: object, **kwargs: object) -> object:
        if host == "hooks.example.com":
            return real("127.0.0.1", *args, **kwargs)  # type: ignore[arg-type]
        return real(host, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    port = canary.url.split(":")[2].split("/")[0]
    sender = HttpxWebhookSender(ports=[int(port)])  # the port allowed: DNS alone refuses it
    with pytest.raises(Forbidden) as caught:
        await sender.post(f"http://hooks.example.com:{port}/x", b"{}", {})
    assert "resolves to the internal address 127.0.0.1" in caught.value.message
    assert canary.received == []


async def test_redirects_are_not_followed(canary: receivers.Receiver) -> None:
    canary.answers = [302]
    result = await HttpxWebhookSender(allow_loopback=True).post(canary.url, b"{}", {})
    assert result.status == 302
    assert not result.accepted
    assert not result.retryable
    assert len(canary.received) == 1


@pytest.mark.parametrize(
    "url",
    [
        "http://93.184.216.34:8080/hook",
        "https://93.184.216.34:22/hook",
        "http://93.184.216.34:6379/hook",
        "http://93.184.216.34:0/hook",
        "http://93.184.216.34:99999/hook",
    ],
)
async def test_only_the_allowed_ports(url: str) -> None:
    with pytest.raises(Forbidden) as caught:
        await HttpxWebhookSender().check_url(url)
    assert caught.value.code == "unsafe_url"
    assert "port" in caught.value.message
    await HttpxWebhookSender().check_url("http://93.184.216.34/hook")
    await HttpxWebhookSender().check_url("https://93.184.216.34:443/hook")
    if ":8080/" in url:
        await HttpxWebhookSender(ports=[80, 443, 8080]).check_url(url)


async def test_a_huge_answer_is_never_read() -> None:
    """The answer's status is all a sender needs: 64 MiB offered, almost nothing taken, and the
    sender's memory does not grow with it."""
    import tracemalloc

    for receiver in receivers.misbehaving_receiver("huge"):
        sender = HttpxWebhookSender(allow_loopback=True)
        tracemalloc.start()
        result = await sender.post(receiver.url, b"{}", {"Content-Type": "application/json"})
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert result.accepted
        assert peak < 4 * 1024 * 1024, peak
        assert receiver.sent < 16 * 1024 * 1024, receiver.sent


@pytest.mark.parametrize("how", ["drip_head", "drip_body"])
async def test_a_dripping_receiver_cannot_hold_the_sender(how: str) -> None:
    """One deadline for the whole attempt, however steadily the receiver drips (httpx's own
    timeouts are per read: a byte every half second would keep them from ever firing)."""
    import time

    for receiver in receivers.misbehaving_receiver(how):
        sender = HttpxWebhookSender(allow_loopback=True, timeout=1.5)
        started = time.monotonic()
        result = await sender.post(receiver.url, b"{}", {"Content-Type": "application/json"})
        took = time.monotonic() - started
        assert took < 3, took  # a bound of the mechanism, not a speed: 1.5 s deadline
        if how == "drip_head":
            assert not result.accepted and result.retryable
            assert result.error is not None and "1.5" in result.error
        else:  # the head came at once: delivered, and the dripping body is never waited for
            assert result.accepted
            assert took < 1.5
