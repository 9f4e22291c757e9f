"""/docs works offline, and /openapi.json says what the service really answers."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from openapi_spec_validator import validate

from pixelpress.domain.spec.query import QUERY_KEYS

ERROR_REF = "#/components/schemas/ErrorOut"
PUBLIC = {
    ("post", "/api/v1/auth/register"),
    ("post", "/api/v1/auth/login"),
    ("post", "/api/v1/auth/refresh"),
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/metrics"),
    ("get", "/i/{signature}/{options}/{image}"),
}
SIGNED_IN = [{"bearer": []}, {"cookie": []}]


@pytest.fixture
async def schema(client: httpx.AsyncClient) -> dict[str, Any]:
    answer = await client.get("/openapi.json")
    assert answer.status_code == 200
    body: dict[str, Any] = answer.json()
    return body


def operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(m, p, op) for p, ops in schema["paths"].items() for m, op in ops.items()]


async def test_docs_load_only_same_origin_assets(client: httpx.AsyncClient) -> None:
    page = await client.get("/docs")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    html = page.text
    assert "http://" not in html and "https://" not in html  # no CDN, no validator badge
    assert '"validatorUrl": null' in html
    urls = re.findall(r'(?:href|src)="([^"]+)"', html) + re.findall(r"url: '([^']+)'", html)
    assert "/openapi.json" in urls
    expected = {".css": "text/css", ".js": "javascript", ".png": "image/png"}
    assets = [u for u in urls if u != "/openapi.json"]
    assert {u.rsplit(".", 1)[1] for u in assets} == {"css", "js", "png"}
    for url in urls:
        assert url.startswith("/") and not url.startswith("//"), url
        answer = await client.get(url)
        assert answer.status_code == 200, url
        assert len(answer.content) > 100, url
        kind = next((t for ext, t in expected.items() if url.endswith(ext)), "application/json")
        assert kind in answer.headers["content-type"], (url, answer.headers["content-type"])
    bundle = await client.get(next(u for u in assets if u.endswith("swagger-ui-bundle.js")))
    assert b"SwaggerUIBundle" in bundle.content
    assert (await client.get("/redoc")).status_code == 404  # not offered (it needs a CDN)
    assert (await client.get("/docs/assets/nothing.js")).status_code == 404


async def test_the_schema_is_valid_openapi(schema: dict[str, Any]) -> None:
    validate(schema)


async def test_security_schemes_cover_the_routes_that_need_a_caller(
    schema: dict[str, Any],
) -> None:
    schemes = schema["components"]["securitySchemes"]
    assert schemes["bearer"] | {"description": ""} == {
        "type": "http", "scheme": "bearer", "bearerFormat": "JWT", "description": "",
    }  # fmt: skip
    assert (schemes["cookie"]["type"], schemes["cookie"]["in"]) == ("apiKey", "cookie")
    assert schemes["cookie"]["name"] == "access_token"
    assert "X-CSRF-Token" in schemes["cookie"]["description"]
    for method, path, operation in operations(schema):
        if (method, path) in PUBLIC:
            if path == "/metrics":  # public unless the operator set a token
                assert operation["security"] == [{}, {"metricsToken": []}]
            else:
                assert "security" not in operation, (method, path)
        else:
            assert operation.get("security") == SIGNED_IN, (method, path)
            assert "401" in operation["responses"], (method, path)
    assert "/files/{key}" not in schema["paths"] and "/docs" not in schema["paths"]


async def test_every_route_documents_its_success_and_the_error_envelope(
    schema: dict[str, Any],
) -> None:
    assert len(operations(schema)) > 30
    for method, path, operation in operations(schema):
        responses = operation["responses"]
        assert any(s.startswith("2") for s in responses), (method, path)
        for status, answer in responses.items():
            if status[0] in "45":
                ref = answer["content"]["application/json"]["schema"]["$ref"]
                assert ref == ERROR_REF, (method, path, status)
        assert "4XX" in responses and "5XX" in responses, (method, path)
        for status in ("429", "503"):
            if status in responses:
                assert "Retry-After" in responses[status]["headers"], (method, path)


async def test_the_real_answers_are_documented(schema: dict[str, Any]) -> None:
    paths = schema["paths"]

    def statuses(method: str, path: str) -> set[str]:
        return set(paths[path][method]["responses"])

    v1 = "/api/v1"
    assert {"201", "202", "400", "401", "403", "413", "415", "422", "429", "503"} <= statuses(
        "post", f"{v1}/images"
    )
    assert {"200", "202", "404", "422"} <= statuses("post", f"{v1}/images/{{image_id}}/transform")
    transform_200 = paths[f"{v1}/images/{{image_id}}/transform"]["post"]["responses"]["200"]
    shapes = transform_200["content"]["application/json"]["schema"]["anyOf"]
    assert {s["$ref"].rsplit("/", 1)[1] for s in shapes} == {"TransformOut", "DryRunOut"}
    assert {"204", "404"} <= statuses("delete", f"{v1}/images/{{image_id}}")
    assert {"409", "400"} <= statuses("post", f"{v1}/auth/register")
    assert "401" in statuses("post", f"{v1}/auth/login")
    assert {"403", "409"} <= statuses("patch", f"{v1}/admin/users/{{user_id}}")
    # 429: only a render (a miss) past the address's render budget; hits are never limited
    assert {"200", "304", "403", "404", "422", "429"} <= statuses(
        "get", "/i/{signature}/{options}/{image}"
    )
    assert "200" in statuses("get", "/readyz") and "503" in statuses("get", "/readyz")
    render = paths[f"{v1}/images/{{image_id}}/render"]["get"]
    assert {"200", "304", "422"} <= set(render["responses"])
    assert "image/*" in render["responses"]["200"]["content"]
    query = {p["name"]: p for p in render["parameters"] if p["in"] == "query"}
    # exactly what the parser takes, no more, no less, and the presets to start from
    assert set(query) == QUERY_KEYS | {"preset"}
    for name, parameter in query.items():
        assert parameter["description"], name
        assert parameter["schema"].get("type") or parameter["schema"].get("anyOf"), name
    assert query["width"]["schema"]["type"] == "integer"
    assert query["fit"]["schema"]["enum"] == ["cover", "contain", "fill", "inside", "outside"]
    assert "north_east" in query["gravity"]["schema"]["enum"]
    assert {"true", "false", "1", "0"} <= set(query["flip"]["schema"]["enum"])
