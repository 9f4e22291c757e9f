"""Kafka by settings alone: the queue URL and the settings beside it become client options, and
the committed offset of a partition never passes a message still being handled."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from pixelpress.adapters.queue_kafka import KafkaConnection, KafkaQueue
from pixelpress.adapters.queue_kafka.consumer import Watermarks
from pixelpress.bootstrap import QueueSpec, build_queue
from tests.conftest import make_settings


def test_several_brokers_with_the_default_port() -> None:
    connection = KafkaConnection.from_url("kafka://k1:9093,k2,[::1]:9094")
    assert connection.servers == ("k1:9093", "k2:9092", "[::1]:9094")
    assert connection.client_options() == {
        "bootstrap_servers": ["k1:9093", "k2:9092", "[::1]:9094"],
        "security_protocol": "PLAINTEXT",
    }


def test_credentials_in_the_url_mean_sasl_and_win_over_the_settings() -> None:
    connection = KafkaConnection.from_url(
        "kafka://ada:p%40ss%3Aword@k1:9092?mechanism=scram-sha-512",
        username="other",
        password="other",
    )
    options = connection.client_options()
    assert options["security_protocol"] == "SASL_PLAINTEXT"
    assert options["sasl_mechanism"] == "SCRAM-SHA-512"
    assert (options["sasl_plain_username"], options["sasl_plain_password"]) == ("ada", "p@ss:word")
    assert "p@ss" not in repr(connection)


def test_kafkas_is_tls_with_the_settings_credentials() -> None:
    connection = KafkaConnection.from_url(
        "kafkas://broker.example.com:9093", username="ada", password="secret", mechanism="PLAIN"
    )
    options = connection.client_options()
    assert options["security_protocol"] == "SASL_SSL"
    assert options["sasl_plain_username"] == "ada"
    assert isinstance(options["ssl_context"], ssl.SSLContext)
    assert options["ssl_context"].verify_mode is ssl.CERT_REQUIRED
    assert KafkaConnection.from_url("kafkas://b:9093").client_options()["security_protocol"] == (
        "SSL"
    )


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("kafka://", "no host"),
        ("kafka://k1:port", "Invalid Kafka broker address"),
        ("kafka://k1:9092?mechanism=GSSAPI", "PLAIN, SCRAM-SHA-256, SCRAM-SHA-512"),
    ],
)
def test_bad_urls_stop_the_start(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        KafkaConnection.from_url(url)


def test_settings_select_kafka_for_both_queues(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path,
        queue_url="kafka://k1:9092",
        kafka_username="ada",
        kafka_password="secret",
        kafka_sasl_mechanism="SCRAM-SHA-256",
    )
    for name in (settings.queue_name, settings.notify_queue_name):
        queue = build_queue(settings.queue_url, QueueSpec(name, "t", 2), settings)
        assert isinstance(queue, KafkaQueue)
        assert queue.name == name
        assert (queue.delay_topic, queue.dead_topic) == (f"{name}.delay", f"{name}.dead")


def test_the_committed_offset_stays_below_every_message_still_running() -> None:
    marks = Watermarks()
    for offset in (5, 6, 7):
        marks.begin("p0", offset)
    assert marks.end("p0", 6) == 5  # 5 still runs: reading again from 5 loses nothing
    assert marks.end("p0", 5) == 7
    assert marks.end("p0", 7) == 8
    assert marks.seen("p0", 7)
    assert not marks.seen("p0", 8)
    marks.forget(["p0"])
    assert marks.end("p0", 8) is None  # handed to another member: not ours to commit
    assert not marks.seen("p0", 7)
