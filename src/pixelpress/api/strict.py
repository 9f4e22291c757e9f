"""Strict request bodies and parameters: a value is taken only in the type the schema gives it.

Pydantic's lax mode would take `0` for a boolean, `0.5` for a date (a unix time) and `"5"` for a
number; a client that sends those has a bug we should tell it about, not guess around."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field

CHOICE = Field(strict=False)
"""For enum fields of a Strict model: the exact value as text (strict mode would want an enum
instance, which JSON cannot carry). Nothing is trimmed or case-folded."""


class Strict(BaseModel):
    """A request body: unknown fields refused, every value in its schema's own type."""

    model_config = ConfigDict(extra="forbid", strict=True)


def _iso_datetime(value: Any) -> Any:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        raise ValueError("must be an ISO 8601 date and time, as a string")
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(
            "must be an ISO 8601 date and time, such as 2026-01-31T12:00:00Z"
        ) from None


def _bool_word(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    raise ValueError("must be true or false")


IsoDatetime = Annotated[AwareDatetime, Field(strict=False), BeforeValidator(_iso_datetime)]
"""An aware date and time written in ISO 8601 (a body field or a query parameter)."""
QueryBool = Annotated[bool, BeforeValidator(_bool_word)]
"""A query parameter's boolean: `true` or `false`."""
