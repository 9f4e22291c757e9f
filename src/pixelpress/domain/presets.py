"""Named presets: a transformation saved under a short name (`thumb` = `w_200,h_200,c_cover`),
used as `t_thumb` in URLs, and by name in jobs, renders and minting.

A preset is an owner's, or global (an admin's, for everyone); an owner's shadows a global one of
the same name. Its options are kept in the URL grammar (`domain.spec.url`), in canonical form, so
that expanding a preset is splicing text and the expansion's spec hash is what variants are keyed
by: an edit makes new variants (and the old ones are purged). A `public` preset may be used in
URLs that carry no signature, when every option is a public preset (`/i/-/t_thumb/{id}.webp`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from pixelpress.domain.errors import InvalidInput

NAME_RULE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$")
"""Lowercase letters, digits and inner hyphens; at most 32 characters."""
UNSIGNED = "-"
"""The signature segment of a URL that has none (`/i/-/t_thumb/{id}`)."""


@dataclass
class Preset:
    id: str
    owner_id: str | None
    """None: global, for everyone."""
    name: str
    options: str
    """Canonical URL options (no presets inside, no expiry)."""
    public: bool
    created_at: datetime
    updated_at: datetime

    @property
    def is_global(self) -> bool:
        return self.owner_id is None


def check_name(name: str) -> str:
    if not NAME_RULE.fullmatch(name):
        raise InvalidInput(
            "A preset name is 1 to 32 lowercase letters, digits and inner hyphens.",
            code="invalid_preset_name",
            field="name",
        )
    return name
