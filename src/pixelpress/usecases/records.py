"""What delivery keeps in the cache, and how: a record of each delivered variant (so a hit needs
no database), and a card of each image seen lately (so its next new variant needs no database
read first). Both live under the image's prefix: deleting or replacing the image purges them."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from pixelpress.domain.keys import card_key, record_key
from pixelpress.domain.models import Image, ImageFormat, Variant, VariantStatus
from pixelpress.domain.spec import OutputFormat, parse_canonical
from pixelpress.ports import Cache
from pixelpress.usecases.hot import HotEntries

RECORD_TTL = 7 * 24 * 3600
INLINE_TTL = 24 * 3600
"""Records that carry their bytes live a day: a shared Redis holds them beside locks and limits."""
CARD_TTL = 3600


@dataclass(frozen=True)
class Delivered:
    spec_hash: str
    key: str
    etag: str
    media_type: str
    size: int
    owner_id: str
    flattened: bool = False
    data: bytes | None = field(default=None, compare=False, repr=False)
    """The bytes themselves when at hand (just rendered, or small enough to be cached with
    this record): answered from memory rather than read from storage."""

    def dump(self) -> bytes:
        """The record as one JSON line, followed by the bytes when it carries them."""
        record = json.dumps({k: v for k, v in self.__dict__.items() if k != "data"}).encode()
        return record if self.data is None else record + b"\n" + self.data

    @classmethod
    def load(cls, data: bytes) -> Delivered:
        record, newline, body = data.partition(b"\n")  # JSON escapes newlines in strings
        return cls(**json.loads(record), data=body if newline else None)


@dataclass(frozen=True)
class Card:
    """What rendering needs to know of an image: the row and its ready renditions (the levels
    of its pyramid, largest first)."""

    image: Image
    levels: tuple[Variant, ...] = ()

    def dump(self) -> bytes:
        return json.dumps(
            {"image": _fields(self.image), "levels": [_fields(v) for v in self.levels]}
        ).encode()

    @classmethod
    def load(cls, data: bytes) -> Card:
        record = json.loads(data)
        image = record["image"]
        return cls(
            Image(
                **image
                | {
                    "format": ImageFormat(image["format"]),
                    "created_at": datetime.fromisoformat(image["created_at"]),
                }
            ),
            tuple(_variant(level) for level in record["levels"]),
        )


def _variant(fields: dict[str, Any]) -> Variant:
    return Variant(
        **fields
        | {
            "spec": parse_canonical(fields["spec"]),
            "format": OutputFormat(fields["format"]),
            "status": VariantStatus(fields["status"]),
            "created_at": datetime.fromisoformat(fields["created_at"]),
        }
    )


def _fields(entity: Image | Variant) -> dict[str, Any]:
    """An entity as JSON values: times in ISO 8601, a spec in its canonical form."""
    out: dict[str, Any] = {}
    for name, value in entity.__dict__.items():
        if isinstance(value, datetime):
            value = value.isoformat()
        elif name == "spec":
            value = value.canonical()
        out[name] = value
    return out


class RecordCache:
    """Records and cards, over the cache port. A record or card written by another version of
    Pixelpress (one this one cannot read) is dropped and counts as a miss."""

    def __init__(
        self, cache: Cache, *, inline_bytes: int, hot: HotEntries[Delivered] | None = None
    ) -> None:
        self._cache = cache
        self.inline_bytes = inline_bytes
        """Variants up to this size are cached with their record (see `Delivered.data`)."""
        self.hot: HotEntries[Delivered] = (
            hot if hot is not None else HotEntries(max_entries=0, max_bytes=0, ttl=0)
        )
        """Records read or written lately, in this process (see `usecases.hot`); the cache's
        deletes and purges drop them (the root wires it so)."""

    def hot_record(self, image_id: str, spec_hash: str) -> Delivered | None:
        """The record if this process holds it: no await, for the hit path."""
        return self.hot.get(record_key(image_id, spec_hash))

    async def record(self, image_id: str, spec_hash: str) -> Delivered | None:
        key = record_key(image_id, spec_hash)
        if (found := self.hot.get(key)) is not None:
            return found
        since = self.hot.generation
        data = await self._cache.get(key)
        if data is None:
            return None
        try:
            found = Delivered.load(data)
        except (ValueError, TypeError):
            await self._cache.delete(key)
            return None
        self.hot.put(key, found, size=len(data), since=since)
        return found

    async def remember(self, image_id: str, found: Delivered) -> None:
        """Caches the record, with the bytes when they are small enough."""
        small = found.data is not None and len(found.data) <= self.inline_bytes
        record = found if small else replace(found, data=None)
        ttl = INLINE_TTL if small else RECORD_TTL
        key = record_key(image_id, found.spec_hash)
        since = self.hot.generation
        dumped = record.dump()
        await self._cache.set(key, dumped, ttl=ttl)
        self.hot.put(key, record, size=len(dumped), since=since)

    async def forget(self, image_id: str, spec_hash: str) -> None:
        key = record_key(image_id, spec_hash)
        self.hot.drop(key)
        await self._cache.delete(key)

    async def card(self, image_id: str) -> Card | None:
        data = await self._cache.get(card_key(image_id))
        if data is None:
            return None
        try:
            return Card.load(data)
        except (ValueError, TypeError, KeyError):
            await self.forget_card(image_id)
            return None

    async def remember_card(self, card: Card) -> None:
        await self._cache.set(card_key(card.image.id), card.dump(), ttl=CARD_TTL)

    async def forget_card(self, image_id: str) -> None:
        await self._cache.delete(card_key(image_id))
