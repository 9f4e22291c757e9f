"""Credentials out of everything we log or show: the password of `scheme://user:password@host`
and the values of secret-looking query parameters (`?password=`, `?token=`, `?signature=`, ...).

Written here with the standard library because the domain imports nothing else, and the rules
are ours: which query names count as secrets, and that a password is masked, not dropped (an
operator reading a log should still see that one was given)."""

from __future__ import annotations

import re

MASK = "***"
SECRET_QUERY = re.compile(
    r"(?P<name>[?&;](?:[\w.-]*(?:password|passwd|pwd|secret|token|signature|credential|apikey"
    r"|api_key)|sig|key|auth|authorization)=)(?P<value>[^&;#\s\"'<>]*)",
    re.IGNORECASE,
)
# `scheme://user:` then everything up to the last `@`: a password may hold an unescaped `/`
# (SQLAlchemy takes it) or `@`. An `@` later in a URL with a port (`http://h:80/@me`) is
# masked with it: on the safe side.
USERINFO = re.compile(r"^(?P<head>[a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s?#]*):\S*@")
# Anything that looks like a URL: the candidates for `redact_url` in free text.
URL = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s\"'<>`]+")


def _mask_query(text: str) -> str:
    return SECRET_QUERY.sub(lambda m: m["name"] + (MASK if m["value"] else ""), text)


def redact_url(url: str) -> str:
    """`url` with its password (if any) and secret query values replaced by `***`. The user
    name, host, path and other parameters stay: they are what an operator needs to read."""
    return _mask_query(USERINFO.sub(rf"\g<head>:{MASK}@", url, count=1))


def redact_text(text: str) -> str:
    """Every URL in `text` through `redact_url`, and secret query values after a bare path
    (an access log's `GET /files/x?signature=...`) masked too."""
    if "://" in text:
        text = URL.sub(lambda m: redact_url(m[0]), text)
    return _mask_query(text) if "=" in text else text
