"""Every storage, cache and lock key of Pixelpress, in one place.

An image's keys all live under its prefix (`images/{id}/`), in storage and in the cache alike, so
that deleting or replacing an image purges everything of it with one prefix each."""

from __future__ import annotations


def image_prefix(image_id: str) -> str:
    return f"images/{image_id}/"


def original_key(image_id: str) -> str:
    """Where an upload's bytes are stored."""
    return f"{image_prefix(image_id)}original"


def replacement_key(image_id: str, token: str) -> str:
    """Where a replacement's bytes go: a new key, so readers of the old row keep finding the
    old bytes until the replace commits."""
    return f"{image_prefix(image_id)}original-{token}"


def variants_prefix(image_id: str) -> str:
    return f"{image_prefix(image_id)}variants/"


def variant_key(image_id: str, spec_hash: str, ext: str) -> str:
    """Derived from (image, spec hash) alone: running a job twice writes the same object."""
    return f"{variants_prefix(image_id)}{spec_hash}.{ext}"


def record_key(image_id: str, spec_hash: str) -> str:
    """The cached record of a delivered variant (see `usecases.records`). ("served/": records
    that may carry their bytes; "delivered/" held older JSON-only ones.)"""
    return f"{image_prefix(image_id)}served/{spec_hash}"


def card_key(image_id: str) -> str:
    """The cached card of an image seen lately (see `usecases.records`)."""
    return f"{image_prefix(image_id)}card"


def faces_key(image_id: str, content_hash: str) -> str:
    """The cached faces found in an image's bytes (see `usecases.faces`): named by the bytes
    too, so a detection of replaced bytes, finishing late, is never read back."""
    return f"{image_prefix(image_id)}faces/{content_hash}"


def faces_lock_key(image_id: str, content_hash: str) -> str:
    """Held while one process searches an image's bytes for faces, so that others wait for
    its result rather than search them again."""
    return f"{image_prefix(image_id)}finding-faces/{content_hash}"


def render_lock_key(image_id: str, spec_hash: str) -> str:
    """Held while one process renders a variant, so that others wait for it (across processes
    on Redis)."""
    return f"{image_prefix(image_id)}rendering/{spec_hash}"


def block_logged_key(bucket: str, caller: str) -> str:
    """Set when a rate-limit block was logged, so that it is logged once a window."""
    return f"ratelimit-logged:{bucket}:{caller}"


def preset_key(owner_id: str | None, name: str) -> str:
    """The cached lookup of an owner's preset by name (`owner_id` None: the global one), or
    the mark that there is none."""
    return f"presets/{owner_id or '*'}/{name}"
