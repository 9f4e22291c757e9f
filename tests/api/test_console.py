"""The console's files as the app serves them: a strict CSP, caching by ETag, no rate limit,
the first screen's size, and nothing that the CSP would have to allow inline."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from tests.api.helpers import assert_error

WEB = Path(__file__).resolve().parents[2] / "src" / "pixelpress" / "web"
BUDGET = 150 * 1024
REQUIRED_CSP = [  # what the console's pages must say, whatever else they add
    "script-src 'self'", "style-src 'self'", "img-src 'self' data: blob:",
    "connect-src 'self'", "frame-ancestors 'none'", "base-uri 'none'",
    "form-action 'self'", "object-src 'none'", "default-src 'none'",
]  # fmt: skip


async def test_index_and_assets_carry_the_csp_and_revalidate_by_etag(
    client: httpx.AsyncClient,
) -> None:
    index = await client.get("/")
    assert index.status_code == 200
    assert index.headers["content-type"].startswith("text/html")
    csp = index.headers["content-security-policy"]
    assert set(REQUIRED_CSP) <= set(csp.split("; "))
    assert "unsafe" not in csp and "*" not in csp
    assert index.headers["x-content-type-options"] == "nosniff"
    assert index.headers["cache-control"] == "no-cache"
    assert '<script type="module" src="/assets/app.js">' in index.text
    again = await client.get("/", headers={"If-None-Match": index.headers["etag"]})
    assert again.status_code == 304
    script = await client.get("/assets/screens/editor.js")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert script.headers["etag"]
    assert "ratelimit-limit" not in script.headers  # assets spend no rate limit
    assert (await client.head("/")).status_code == 200
    assert_error(await client.get("/assets/missing.js"), 404)
    assert_error(await client.get("/assets/../settings.py"), 404)
    assert_error(await client.post("/"), 405)
    # the API's own routes are untouched
    assert (await client.get("/healthz")).status_code == 200
    assert (await client.get("/openapi.json")).json()["paths"]["/api/v1/images"]
    assert_error(await client.get("/library"), 404)


def imports_of(module: Path) -> set[Path]:
    """`module` and every module it imports statically (the first screen loads them all)."""
    found = {module}
    for target in re.findall(r"^import .*? from '(\.[^']+)';$", module.read_text(), re.M):
        found |= imports_of((module.parent / target).resolve())
    return found


def test_the_first_screen_stays_under_its_budget() -> None:
    index = (WEB / "index.html").read_text()
    linked = [WEB / p for p in re.findall(r'(?:src|href)="/assets/([^"]+)"', index)]
    # the first screen is the sign-in or the library, loaded by app.js on demand
    modules = imports_of(WEB / "app.js")
    for screen in ("auth", "library"):
        modules |= imports_of(WEB / "screens" / f"{screen}.js")
    files = {WEB / "index.html", *linked, *modules}
    total = sum(f.stat().st_size for f in files)
    assert WEB / "style.css" in files and WEB / "blurhash.js" in files
    assert total < BUDGET, f"{total} bytes"


def test_no_inline_script_or_style_is_needed() -> None:
    index = (WEB / "index.html").read_text()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", index)
    assert not re.search(r"\sstyle=|\son\w+=", index)
    for module in WEB.rglob("*.js"):
        text = module.read_text()
        for needs_unsafe in (
            "innerHTML",
            "setAttribute('style'",
            "cssText",
            "eval(",
            "new Function",
        ):
            assert needs_unsafe not in text, f"{module.name}: {needs_unsafe}"
