"""/docs: Swagger UI from the files of an installed package (swagger-ui-bundle-v2), served by
our own static route, so the docs work with no network. ReDoc is not offered (it would need a
CDN or another bundle); /docs is the one interactive page."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

ASSETS = "/docs/assets"


def install(app: FastAPI) -> None:
    """The /docs page and its assets. The app is made with docs_url=None and redoc_url=None."""
    app.mount(ASSETS, StaticFiles(directory=str(swagger_ui_path)), name="docs-assets")

    async def docs(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} API",
            swagger_js_url=f"{root}{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS}/favicon-32x32.png",
            # Swagger UI would otherwise show a badge fetched from validator.swagger.io.
            swagger_ui_parameters={"validatorUrl": None, "persistAuthorization": True},
        )

    app.add_api_route("/docs", docs, methods=["GET"], include_in_schema=False)
