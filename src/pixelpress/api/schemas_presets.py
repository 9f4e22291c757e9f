"""Request and response bodies of /presets."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from pixelpress.api.strict import Strict
from pixelpress.domain.presets import Preset
from pixelpress.domain.spec import parse_options

OPTIONS = Field(
    default=None,
    max_length=2000,
    description="The URL options grammar, e.g. `w_200,h_200,c_cover,g_auto,q_75` (or give "
    "`transformations`).",
)
TRANSFORMATIONS = Field(default=None, description="A JSON spec, as /transform takes it.")
PUBLIC = Field(
    default=False,
    description="Usable in URLs without a signature: `/i/-/t_{name}/{imageId}[.ext]`.",
)


class PresetEdit(Strict):
    """A preset's new definition (PUT replaces it whole)."""

    options: str | None = OPTIONS
    transformations: dict[str, Any] | None = TRANSFORMATIONS
    public: bool = PUBLIC


class PresetIn(PresetEdit):
    name: str = Field(
        max_length=32,
        description="1 to 32 lowercase letters, digits and inner hyphens; used as `t_{name}`.",
        json_schema_extra={"pattern": "^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$"},
    )
    global_: bool = Field(default=False, alias="global", description="For everyone (admins only).")


class PresetOut(BaseModel):
    name: str
    options: str
    """Canonical URL options."""
    transformations: dict[str, Any] | None
    """The same as a canonical JSON spec (None when the preset only says f_auto)."""
    autoFormat: bool
    specHash: str | None
    """Of the expansion, as variants made through the preset are keyed (f_auto: of JPEG)."""
    public: bool
    global_: bool = Field(alias="global")
    createdAt: datetime
    updatedAt: datetime

    @classmethod
    def of(cls, preset: Preset) -> PresetOut:
        parsed = parse_options(preset.options)
        spec = parsed.spec
        return cls.model_validate(
            {
                "name": preset.name,
                "options": preset.options,
                "transformations": spec.canonical() if spec else None,
                "autoFormat": parsed.auto_format,
                "specHash": spec.hash if spec else None,
                "public": preset.public,
                "global": preset.is_global,
                "createdAt": preset.created_at,
                "updatedAt": preset.updated_at,
            }
        )


class PresetsOut(BaseModel):
    items: list[PresetOut]
    """Yours and the global ones, by name (yours first where both have a name: yours wins)."""
