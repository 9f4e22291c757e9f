"""WebhookSender over httpx, guarded against server-side request forgery.

Every address the host resolves to must be a public one (not loopback, private, link-local,
metadata, multicast, reserved or otherwise internal), checked at send time; the request then
goes to the address that was checked, so a second DNS answer cannot swap it (the Host header
and TLS server name stay the URL's). Redirects are not followed, and only the ports allowed
(80 and 443 unless configured) may be named.

A receiver cannot hold a sender: one deadline covers the whole attempt (resolving, connecting,
sending and the answer's head; httpx's own timeouts are per read, so a receiver dripping a byte
every few seconds would otherwise keep it open forever), and the answer's body is never read
(its status is all we need), so a huge answer costs nothing."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit, urlunsplit

import httpx

from pixelpress.domain.errors import Forbidden
from pixelpress.ports import WebhookResult

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def _unsafe(reason: str) -> Forbidden:
    return Forbidden(f"This webhook URL is not allowed: {reason}.", code="unsafe_url")


def _allowed(ip: IPAddress, *, allow_loopback: bool) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if allow_loopback and ip.is_loopback:
        return True
    return ip.is_global and not ip.is_multicast


class HttpxWebhookSender:
    def __init__(
        self, *, timeout: float = 5, allow_loopback: bool = False, ports: list[int] | None = None
    ) -> None:
        self._timeout = timeout
        self._allow_loopback = allow_loopback
        self._ports = frozenset(ports or (80, 443))

    async def _resolve(self, url: str) -> tuple[str, str, IPAddress]:
        """(scheme, host, the checked address to connect to)."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise _unsafe("only http and https URLs are accepted")
        host = parts.hostname
        if not host:
            raise _unsafe("it has no host")
        if parts.username or parts.password:
            raise _unsafe("credentials in URLs are not accepted")
        try:
            port = (
                parts.port if parts.port is not None else (443 if parts.scheme == "https" else 80)
            )
        except ValueError as exc:
            raise _unsafe("its port is not a number from 1 to 65535") from exc
        # (With loopback allowed, for development, a loopback address may use any port.)
        if port not in self._ports and not self._allow_loopback:
            raise self._port_refused(port)
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM
            )
        except (socket.gaierror, UnicodeError) as exc:
            raise _unsafe("its host does not resolve") from exc
        addresses = {ipaddress.ip_address(info[4][0]) for info in infos}
        if not addresses:
            raise _unsafe("its host does not resolve")
        for ip in addresses:
            if not _allowed(ip, allow_loopback=self._allow_loopback):
                raise _unsafe(f"{host} resolves to the internal address {ip}")
            if port not in self._ports and not ip.is_loopback:
                raise self._port_refused(port)
        return parts.scheme, host, sorted(addresses, key=str)[0]

    def _port_refused(self, port: int) -> Forbidden:
        allowed = ", ".join(str(p) for p in sorted(self._ports))
        return _unsafe(f"port {port} is not one of the allowed ports ({allowed})")

    async def check_url(self, url: str) -> None:
        await self._resolve(url)

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> WebhookResult:
        try:
            async with asyncio.timeout(self._timeout):
                return await self._post(url, body, headers)
        except TimeoutError:
            return WebhookResult(None, f"No answer within {self._timeout:g} s.")

    async def _post(self, url: str, body: bytes, headers: dict[str, str]) -> WebhookResult:
        scheme, host, ip = await self._resolve(url)
        parts = urlsplit(url)
        literal = f"[{ip}]" if ip.version == 6 else str(ip)
        netloc = f"{literal}:{parts.port}" if parts.port else literal
        pinned = urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))
        extensions = {"sni_hostname": host} if scheme == "https" else {}
        request_headers = {**headers, "Host": parts.netloc.rsplit("@", 1)[-1]}
        try:
            async with (
                httpx.AsyncClient(
                    timeout=self._timeout, follow_redirects=False, trust_env=False
                ) as client,
                client.stream(
                    "POST", pinned, content=body, headers=request_headers, extensions=extensions
                ) as response,
            ):
                pass  # the status is the answer; the body is left unread and the stream closed
        except httpx.HTTPError as exc:
            return WebhookResult(None, f"{type(exc).__name__}: {exc}"[:300])
        if 300 <= response.status_code < 400:
            return WebhookResult(response.status_code, "Redirects are not followed.")
        error = None if response.is_success else f"HTTP {response.status_code}"
        return WebhookResult(response.status_code, error)
