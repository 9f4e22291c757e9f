"""The Dockerfile and compose.yaml, read as files: no container engine runs on our machines, so
what is checked is what can be without one. Every PIXELPRESS_* variable they set is a setting
the server reads (and is documented), the settings they make parse, every service those
settings point at is in the stack and started first, and the image is what the README says:
multi-stage, slim, unprivileged, `pixelpress serve` by default with a health check on /healthz.
Building the image and running the stack is not tested here."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import yaml
from dockerfile_parse import DockerfileParser
from pydantic import AliasChoices

from pixelpress.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
VARIABLE = re.compile(r"\$\{(\w+)(?:(:?[-?])([^}]*))?\}")
REQUIRED = {"PIXELPRESS_SECRET_KEY": "a-secret-key-set-by-the-operator-long-enough"}
URL_SETTINGS = ("database_url", "queue_url", "cache_url", "ratelimit_url", "s3_endpoint_url")


def setting_variables() -> set[str]:
    """Every environment variable Settings reads."""
    prefix = Settings.model_config.get("env_prefix", "")
    names = set()
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names.update(str(choice) for choice in alias.choices)
        else:
            names.add(f"{prefix}{name}".upper())
    return names


def interpolate(value: str) -> str:
    """Compose's `${VAR:-default}` and `${VAR:?error}`, for a shell where only the required
    variables are set; `$$` is a literal `$`."""

    def one(match: re.Match[str]) -> str:
        name, kind, rest = match.groups()
        if name in REQUIRED:
            return REQUIRED[name]
        assert kind and kind.endswith("-"), f"${{{name}}} has no default and is not required"
        return rest

    return VARIABLE.sub(one, value).replace("$$", "$")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
    return loaded


@pytest.fixture(scope="module")
def apps(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The services that run the Pixelpress image."""
    return {name: s for name, s in compose["services"].items() if s.get("build") == "."}


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {key: interpolate(str(value)) for key, value in env.items()}


def test_every_pixelpress_variable_is_a_documented_setting(apps: dict[str, Any]) -> None:
    known = setting_variables()
    readme = (ROOT / "README.md").read_text()
    dockerfile = DockerfileParser(path=str(ROOT / "Dockerfile"))
    set_in_image = {k for k in dockerfile.envs if k.startswith("PIXELPRESS_")}
    used = set_in_image.union(*(environment(s) for s in apps.values()))
    pixelpress = {v for v in used if v.startswith("PIXELPRESS_")}
    assert len(pixelpress) >= 10
    assert pixelpress <= known, pixelpress - known
    assert [v for v in sorted(pixelpress) if f"`{v}`" not in readme] == []


def test_the_settings_parse_and_every_service_they_need_is_there(
    compose: dict[str, Any], apps: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    services = compose["services"]
    for name, service in apps.items():
        for key in [k for k in os.environ if k.startswith("PIXELPRESS_")]:
            monkeypatch.delenv(key)
        for key, value in environment(service).items():
            monkeypatch.setenv(key, value)
        settings = Settings(_env_file=None)  # type: ignore[call-arg]
        assert settings.resolved_database_url().startswith("postgresql://")
        assert settings.queue_url.startswith("amqp://")
        assert settings.cache_url.startswith("redis://")
        assert settings.storage_url.startswith("s3://")
        assert settings.secret_key == REQUIRED["PIXELPRESS_SECRET_KEY"]
        hosts = {urlparse(getattr(settings, s)).hostname for s in URL_SETTINGS}
        hosts.discard(None)
        assert hosts == {"postgres", "rabbitmq", "redis", "minio"}, name
        waits_for = service["depends_on"]
        for host in hosts:
            assert host in services, f"{name} needs {host}, which compose.yaml lacks"
            assert "healthcheck" in services[host], host
            assert waits_for[host]["condition"] == "service_healthy"
        # the bucket exists before any process starts: a one-shot service makes it
        bucket = urlparse(settings.storage_url).hostname
        makers = [
            other
            for other, s in services.items()
            if f"mb --ignore-existing store/{bucket}" in " ".join(s.get("command", []))
        ]
        assert makers == ["minio-bucket"]
        assert services["minio-bucket"]["restart"] == "no"
        assert waits_for["minio-bucket"]["condition"] == "service_completed_successfully"


def test_two_api_processes_and_one_worker_share_one_configuration(apps: dict[str, Any]) -> None:
    serving = sorted(name for name, s in apps.items() if "command" not in s)  # the image's CMD
    worker = ["pixelpress", "worker"]
    working = [name for name, s in apps.items() if s.get("command", [])[:2] == worker]
    assert (serving, working) == (["api-1", "api-2"], ["worker"])
    assert [apps[n]["ports"] for n in serving] == [["8000:8000"], ["8001:8000"]]
    assert apps["worker"]["healthcheck"] == {"disable": True}  # it serves no /healthz
    first, *others = (environment(s) for s in apps.values())
    assert all(other == first for other in others)


def test_the_image(compose: dict[str, Any]) -> None:
    dockerfile = DockerfileParser(path=str(ROOT / "Dockerfile"))
    instructions = dockerfile.structure
    stages = [i["value"] for i in instructions if i["instruction"] == "FROM"]
    assert len(stages) >= 2, "a build stage and a runtime stage"
    assert all("-slim" in stage for stage in stages)
    args = [i["value"] for i in instructions if i["instruction"] == "ARG"]
    assert args == ["PYTHON_VERSION=3.11"]  # the Python the test suite runs on here
    runtime = instructions[
        max(i for i, x in enumerate(instructions) if x["instruction"] == "FROM") :
    ]
    kinds = [i["instruction"] for i in runtime]
    assert "COPY" in kinds and any("--from=build" in i["value"] for i in runtime)
    users = [i["value"] for i in runtime if i["instruction"] == "USER"]
    assert users and users[-1] not in ("root", "0")
    health = next(i["value"] for i in runtime if i["instruction"] == "HEALTHCHECK")
    assert "/healthz" in health and "CMD" in health
    assert dockerfile.cmd == '["pixelpress", "serve", "--host", "0.0.0.0", "--port", "8000"]'
    assert "8000" in next(i["value"] for i in runtime if i["instruction"] == "EXPOSE")
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    patterns = [line for line in lines if line and not line.startswith("#")]
    assert patterns[0] == "*" and "!src/" in patterns  # no .venv, var/ or .git in the context
