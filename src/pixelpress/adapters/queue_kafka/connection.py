"""Where the Kafka cluster is and how to reach it: a `kafka://` or `kafkas://` URL (and the SASL
and TLS settings beside it) turned into aiokafka's client options; and the topics a queue needs,
created when missing."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

DEFAULT_PORT = 9092
MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
TOPIC_EXISTS = 36
"""Kafka's TOPIC_ALREADY_EXISTS: another process created it first, which is what we wanted."""


@dataclass(frozen=True)
class KafkaConnection:
    servers: tuple[str, ...]
    """host:port of each bootstrap broker."""
    tls: bool = False
    username: str = ""
    password: str = field(default="", repr=False)
    mechanism: str = "PLAIN"
    """SASL mechanism, used when there is a username."""
    ca_file: str = ""
    """CA bundle that signed the brokers' certificates (TLS); empty: the system's."""

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        username: str = "",
        password: str = "",
        mechanism: str = "PLAIN",
        ca_file: str = "",
    ) -> KafkaConnection:
        """`kafka[s]://[user:password@]host1[:9092][,host2[:9092]…][?mechanism=SCRAM-SHA-512]`.
        Credentials and mechanism in the URL win over the ones passed (the settings')."""
        parts = urlsplit(url)
        if parts.scheme not in ("kafka", "kafkas"):
            raise ValueError(f"Not a Kafka URL: {parts.scheme}://")
        userinfo, _, hosts = parts.netloc.rpartition("@")
        if userinfo:
            name, _, secret = userinfo.partition(":")
            username, password = unquote(name), unquote(secret)
        query = parse_qs(parts.query)
        mechanism = query.get("mechanism", [mechanism])[-1].upper()
        if mechanism not in MECHANISMS:
            allowed = ", ".join(MECHANISMS)
            raise ValueError(f"Unsupported SASL mechanism {mechanism!r}; use one of: {allowed}")
        return cls(
            servers=tuple(_server(host) for host in hosts.split(",")),
            tls=parts.scheme == "kafkas",
            username=username,
            password=password,
            mechanism=mechanism,
            ca_file=ca_file,
        )

    def describe(self) -> str:
        """The brokers, for messages (never the credentials)."""
        return ",".join(self.servers)

    def client_options(self) -> dict[str, Any]:
        """Keyword arguments for aiokafka's producer, consumer and admin client."""
        options: dict[str, Any] = {"bootstrap_servers": list(self.servers)}
        if self.tls:
            from aiokafka.helpers import create_ssl_context

            options["ssl_context"] = create_ssl_context(cafile=self.ca_file or None)
        if self.username:
            options["security_protocol"] = "SASL_SSL" if self.tls else "SASL_PLAINTEXT"
            options["sasl_mechanism"] = self.mechanism
            options["sasl_plain_username"] = self.username
            options["sasl_plain_password"] = self.password
        else:
            options["security_protocol"] = "SSL" if self.tls else "PLAINTEXT"
        return options


def _server(host: str) -> str:
    parts = urlsplit(f"//{host.strip()}")
    try:
        port = parts.port or DEFAULT_PORT
    except ValueError as exc:
        raise ValueError(f"Invalid Kafka broker address {host!r}") from exc
    if not parts.hostname:
        raise ValueError(f"Invalid Kafka broker address {host!r}: no host")
    hostname = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{hostname}:{port}"


async def ensure_topics(
    connection: KafkaConnection,
    topics: Iterable[str],
    *,
    partitions: int,
    replication_factor: int,
    request_seconds: float,
) -> None:
    """Creates whichever of `topics` does not exist yet. Raises aiokafka's KafkaError when the
    cluster cannot be reached or refuses."""
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic
    from aiokafka.errors import KafkaError

    admin = AIOKafkaAdminClient(
        **connection.client_options(), request_timeout_ms=int(request_seconds * 1000)
    )
    await admin.start()
    try:
        missing = sorted(set(topics) - set(await admin.list_topics()))
        if not missing:
            return
        created = await admin.create_topics(
            [NewTopic(name, partitions, replication_factor) for name in missing]
        )
        for name, code, message in (error[:3] for error in created.topic_errors):
            if code not in (0, TOPIC_EXISTS):
                raise KafkaError(f"Kafka refused to create topic {name}: {code} {message}")
    finally:
        await admin.close()
