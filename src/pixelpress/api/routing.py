"""The route class of every API router: text is checked at the door, before any route sees it.

Path and query parameters and every string of a JSON body (keys included, at any depth, whether
the route's schema types it or takes it as free-form JSON) must be text Pixelpress can store and
answer with (see `domain.text`); anything else is a 400 naming the field, before a use case runs,
so nothing unstorable is ever written and no read path can later fail on it."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from email.message import Message
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.routing import APIRoute

from pixelpress.domain.text import check_document, check_text


def _json_body(request: Request) -> bool:
    """Whether FastAPI will read this body as JSON (its own rule: no type, or application/json
    or application/*+json)."""
    value = request.headers.get("content-type")
    if not value:
        return True
    message = Message()
    message["content-type"] = value
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json")
    )


class CheckedRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()
        takes_body = self.body_field is not None

        async def checked(request: Request) -> Response:
            for name, value in request.path_params.items():
                check_text(value, name)
            for name, value in request.query_params.multi_items():
                check_text(name, "query")
                check_text(value, name)
            if takes_body and _json_body(request):
                try:
                    document: Any = await request.json()  # kept: FastAPI reads it from here
                except ValueError:  # not JSON at all: FastAPI answers that itself
                    return await handle(request)
                check_document(document)
            return await handle(request)

        return checked


def api_router(**options: Any) -> APIRouter:
    """An APIRouter whose routes check their text (see the module's docstring)."""
    return APIRouter(route_class=CheckedRoute, **options)
