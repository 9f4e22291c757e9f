"""What text Pixelpress takes in: valid Unicode that every store and every answer can hold.

Two kinds of character are refused wherever text enters (JSON bodies, query and path parameters,
form fields, file names, the URL grammar): a lone UTF-16 surrogate, which is not a character at all
and cannot be encoded as UTF-8 (an answer that tried would fail), and NUL, which PostgreSQL cannot
store in a text column. Fields with stricter rules (names, single lines) add theirs on top."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Any

from pixelpress.domain.errors import InvalidInput

CODE = "invalid_text"
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
"""C0 and C1 control characters (newlines and tabs among them)."""


def flaw(value: str) -> str | None:
    """Why `value` cannot be taken in, or None when it can."""
    found = UNSTORABLE.search(value)
    if found is None:
        return None
    char = found.group()
    if char == "\x00":
        return "must not contain NUL characters"
    return f"contains a lone surrogate (U+{ord(char):04X}), which is not valid Unicode"


def check_text(value: str, field: str) -> str:
    """`value` itself, or InvalidInput naming `field`."""
    reason = flaw(value)
    if reason is not None:
        raise InvalidInput(f"'{field}' {reason}.", code=CODE, field=field)
    return value


def check_line(value: str, field: str) -> str:
    """A single line of text: no control characters at all (no newline, no tab)."""
    check_text(value, field)
    if CONTROL.search(value):
        raise InvalidInput(
            f"'{field}' must not contain control characters.", code=CODE, field=field
        )
    return value


def check_document(value: Any, field: str = "body") -> None:
    """Every string of a parsed JSON document, keys included, passes `check_text`."""
    if isinstance(value, str):
        check_text(value, field)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            name = f"{field}.{key}" if isinstance(key, str) and not flaw(key) else field
            if isinstance(key, str):
                check_text(key, name)
            check_document(item, name)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            check_document(item, f"{field}.{index}")


def normal_name(value: str) -> str:
    """A name as it is compared and stored: NFKC (so that full-width and compatibility forms
    are the letters they look like). Case is kept; comparisons fold it."""
    return unicodedata.normalize("NFKC", value)
