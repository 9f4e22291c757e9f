"""The OpenAPI schema as the service really answers: security schemes on the routes that need a
caller, every status each route answers (in the error envelope), the alternative successes
(202 on upload, 200 on a repeated transform, 304), the owner render's query parameters and the
signed /i/ route, which is a plain Starlette route outside FastAPI's sight.

Most statuses follow from what a route is (a body can be invalid or too large, a path id can
be unknown, a signed-in route can be refused, every limited route can answer 429); the rest
are in the tables below, checked against the app's routes when the schema is made."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, iter_route_contexts

from pixelpress.api import deps
from pixelpress.api.openapi_render import render_parameters
from pixelpress.api.ratelimit import UNLIMITED
from pixelpress.api.routes import auth
from pixelpress.domain.models import ImageLimits
from pixelpress.domain.spec import WIDTH_STEPS, OutputFormat

V1 = "/api/v1"
SIGNED = "/i/{signature}/{options}/{image}"
ERROR = {"$ref": "#/components/schemas/ErrorOut"}
RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}}}
UNSAFE = {"post", "put", "patch", "delete"}

SECURITY_SCHEMES = {
    "bearer": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "The access token from register, login or refresh.",
    },
    "cookie": {
        "type": "apiKey",
        "in": "cookie",
        "name": deps.ACCESS_COOKIE,
        "description": "The httponly cookie login sets. Requests that change data must also "
        "send X-CSRF-Token equal to the csrf_token cookie (else 403 csrf_failed).",
    },
    "metricsToken": {
        "type": "http",
        "scheme": "bearer",
        "description": "PIXELPRESS_METRICS_TOKEN, when the operator set one.",
    },
}
SIGNED_IN: list[dict[str, list[str]]] = [{"bearer": []}, {"cookie": []}]

STATUS_TEXT = {
    400: "Invalid input: the envelope's details name each field.",
    401: "Not authenticated, or the token is expired or revoked.",
    403: "Not allowed: another role is needed, or the X-CSRF-Token header is missing.",
    404: "Not found (another user's object answers 404 too).",
    409: "Conflicts with what exists.",
    413: "Over a limit: the body's bytes, or the image's pixels, edge or frames (details).",
    415: "Not an accepted image type (details list the accepted ones).",
    422: "Parses but makes no sense: out of bounds, or an output over the limits (details).",
    429: "Rate limited: Retry-After says when to come back.",
    503: "A dependency is down: Retry-After says when to try again.",
}

# Statuses a route answers beyond what follows from its shape: (method, path) -> {status: why}.
EXTRA: dict[tuple[str, str], dict[int, str]] = {
    ("post", f"{V1}/auth/register"): {409: "The username or the email is taken."},
    ("post", f"{V1}/auth/login"): {401: "Invalid credentials."},
    ("post", f"{V1}/auth/refresh"): {
        401: "No refresh token, or a spent or revoked one.",
        403: "Refreshing by cookie needs the X-CSRF-Token header.",
    },
    ("post", f"{V1}/images"): {
        413: "The file's bytes, or its pixels, longest edge or frames, are over a limit.",
        415: "Not a JPEG, PNG, WebP, GIF, AVIF or TIFF.",
        422: "The transformations sent with it make no sense for this image.",
    },
    ("put", f"{V1}/images/{{image_id}}"): {
        413: "The file's bytes, or its pixels, longest edge or frames, are over a limit.",
        415: "Not a JPEG, PNG, WebP, GIF, AVIF or TIFF.",
    },
    ("post", f"{V1}/images/{{image_id}}/transform"): {422: STATUS_TEXT[422]},
    ("post", f"{V1}/images/{{image_id}}/urls"): {422: STATUS_TEXT[422]},
    ("post", f"{V1}/images/{{image_id}}/srcset"): {422: STATUS_TEXT[422]},
    ("get", f"{V1}/images/{{image_id}}/render"): {422: STATUS_TEXT[422]},
    ("post", f"{V1}/presets"): {
        403: "Only admins define global presets.",
        409: "You (or the global scope) have a preset of that name.",
        422: "The options make no sense (or name a preset, or an expiry).",
    },
    ("put", f"{V1}/presets/{{name}}"): {422: "The options make no sense."},
    ("post", f"{V1}/notifications/send"): {404: "No such user, or no such image of theirs."},
    ("patch", f"{V1}/admin/users/{{user_id}}"): {
        409: "Admins cannot demote or disable themselves."
    },
    ("delete", f"{V1}/admin/users/{{user_id}}"): {409: "Admins cannot delete themselves."},
}

DRY_RUN = {
    "title": "DryRunOut",
    "type": "object",
    "description": "What `?dryRun=true` answers: the output's size and format, nothing made.",
    "required": ["width", "height", "format", "cached"],
    "properties": {
        "width": {"type": "integer"},
        "height": {"type": "integer"},
        "format": {"type": "string", "enum": [str(f) for f in OutputFormat]},
        "cached": {"type": "boolean", "description": "Already rendered and stored."},
        "faces": {
            "type": "array",
            "description": "Only with gravity `face` or `faces`: the faces found (once per "
            "image, then cached), in pixels of the upright original, largest first.",
            "items": {
                "type": "object",
                "required": ["x", "y", "width", "height"],
                "properties": {k: {"type": "integer"} for k in ("x", "y", "width", "height")},
            },
        },
    },
}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


IMAGE_BYTES = {
    "description": "The image, with a strong ETag.",
    "content": {"image/*": {"schema": {"type": "string", "format": "binary"}}},
}
NOT_MODIFIED = {"description": "If-None-Match named the current ETag: nothing is sent."}
# Successes a route answers beside its declared one.
SUCCESS: dict[tuple[str, str], dict[str, dict[str, Any]]] = {
    ("post", f"{V1}/images"): {
        "202": _json(
            {"$ref": "#/components/schemas/UploadOut"},
            "Uploaded, and the transformations sent with it are queued (jobId, statusUrl).",
        )
    },
    ("post", f"{V1}/images/{{image_id}}/transform"): {
        "200": _json(
            {
                "anyOf": [
                    {"$ref": "#/components/schemas/TransformOut"},
                    {"$ref": "#/components/schemas/DryRunOut"},
                ]
            },
            "Already rendered with this spec (the existing variant), or a dry run's answer.",
        )
    },
    ("get", f"{V1}/images/{{image_id}}/render"): {"200": IMAGE_BYTES, "304": NOT_MODIFIED},
}


IF_NONE_MATCH = {
    "name": "If-None-Match",
    "in": "header",
    "required": False,
    "schema": {"type": "string"},
    "description": "An ETag from an earlier answer: 304 while it is still the current one.",
}

HINT_HEADERS = [
    {
        "name": name,
        "in": "header",
        "required": False,
        "schema": {"type": "string"},
        "description": text,
    }
    for name, text in [
        ("Sec-CH-DPR", "The device pixel ratio, read by dpr_auto (clamped to 1..4, rounded "
         "up to a multiple of 0.5)."),
        ("DPR", "The legacy name of Sec-CH-DPR (read when that is absent)."),
        ("Sec-CH-Width", "The image's width in physical pixels, read by w_auto (rounded up to "
         f"one of {', '.join(map(str, WIDTH_STEPS))})."),
        ("Width", "The legacy name of Sec-CH-Width (read when that is absent)."),
    ]
]  # fmt: skip


def _signed_route() -> dict[str, Any]:
    text = {"type": "string", "minLength": 1}
    return {
        "get": {
            "tags": ["delivery"],
            "summary": "A signed transformation URL",
            "operationId": "signed_image",
            "description": "Minted by POST /images/{image_id}/urls; needs no credentials. "
            "`options` is a comma-separated list (w_400, h_300, c_cover, g_auto, r_90, fl_h, "
            "e_grayscale, q_80, f_webp, f_auto, dpr_2, dpr_auto, w_auto[:fallback], "
            "exp_<unix time>, t_<preset>, ...; `_` for none), signed with the image id. Cached "
            "renders answer from the variant cache. dpr_auto and w_auto read the client hints "
            "below; such answers carry `Accept-CH` and a `Vary` naming the hint headers. "
            "`t_thumb` names a preset of the image's owner (else a global one), expanded first: "
            "the URL's other options override it. Signature `-`: no signature, for URLs whose "
            "options are public presets only (and f_auto), such as "
            "`/i/-/t_thumb/{imageId}.webp`; else 403 preset_not_public.",
            "parameters": [
                {"name": "signature", "in": "path", "required": True, "schema": text},
                {"name": "options", "in": "path", "required": True, "schema": text},
                {
                    "name": "image",
                    "in": "path",
                    "required": True,
                    "schema": text,
                    "description": "The image id, optionally with an extension (.webp).",
                },
                IF_NONE_MATCH,
                *HINT_HEADERS,
            ],
            "responses": {"200": IMAGE_BYTES, "304": NOT_MODIFIED},
        }
    }


def _statuses(path: str, method: str, operation: dict[str, Any], signed_in: bool) -> set[int]:
    """What the route answers, from its shape and the EXTRA table."""
    found = {503}
    parameters = [p for p in operation.get("parameters", []) if p.get("in") != "path"]
    if parameters or "requestBody" in operation:
        found.add(400)
    if "requestBody" in operation:
        found.add(413)
    if "{" in path:
        found.add(404)
    if signed_in:
        found.add(401)
        if method in UNSAFE or path.startswith(f"{V1}/admin/"):
            found.add(403)
    if not path.startswith(UNLIMITED):
        found.add(429)
    if path == SIGNED:
        # 429: a render (a cache miss) past the address's render budget; hits are never limited
        found |= {403, 404, 422, 429}
    return found | set(EXTRA.get((method, path), {}))


def _calls(dependant: Dependant) -> Iterator[object]:
    for dependency in dependant.dependencies:
        yield dependency.call
        yield from _calls(dependency)


def _needs_caller(route: APIRoute) -> bool:
    """Signed in: it depends on the current user (or it is logout, which reads the token
    itself)."""
    return deps.current_user in set(_calls(route.dependant)) or route.endpoint is auth.logout


def _document(schema: dict[str, Any], app: FastAPI, limits: ImageLimits) -> None:
    paths: dict[str, dict[str, Any]] = schema["paths"]
    paths[SIGNED] = _signed_route()
    secured: set[tuple[str, str]] = set()
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, APIRoute) and route.include_in_schema and _needs_caller(route):
            secured |= {(m.lower(), str(context.path_format)) for m in route.methods or ()}
    unknown = (set(EXTRA) | set(SUCCESS)) - {(m, p) for p, ops in paths.items() for m in ops}
    if unknown:  # a route was renamed or moved: its table rows would silently stop applying
        raise RuntimeError(f"OpenAPI tables name routes that do not exist: {sorted(unknown)}")
    paths[f"{V1}/images/{{image_id}}/render"]["get"]["parameters"] += [
        *render_parameters(limits),
        IF_NONE_MATCH,
    ]
    for path, operations in paths.items():
        for method, operation in operations.items():
            signed_in = (method, path) in secured
            if signed_in:
                operation["security"] = SIGNED_IN
            elif path == "/metrics":
                operation["security"] = [{}, {"metricsToken": []}]
            responses = operation.setdefault("responses", {})
            responses.update(SUCCESS.get((method, path), {}))
            why = EXTRA.get((method, path), {})
            for status in sorted(_statuses(path, method, operation, signed_in)):
                if path == "/healthz" or (path == "/metrics" and status != 503):
                    continue
                answer = responses.setdefault(
                    str(status), _json(ERROR, why.get(status, STATUS_TEXT[status]))
                )
                if status in (429, 503):
                    answer.setdefault("headers", RETRY_AFTER)
            if path == "/metrics":
                responses.setdefault("401", _json(ERROR, "A token is set and was not sent."))
            responses.setdefault("4XX", _json(ERROR, "Refused: the envelope says why."))
            responses.setdefault("5XX", _json(ERROR, "A dependency is down (503) or a bug."))


def install(app: FastAPI, limits: ImageLimits) -> None:
    """Makes `app.openapi` build (once) the schema described above."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            components = schema.setdefault("components", {})
            components.setdefault("securitySchemes", {}).update(SECURITY_SCHEMES)
            components.setdefault("schemas", {})["DryRunOut"] = DRY_RUN
            _document(schema, app, limits)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way
