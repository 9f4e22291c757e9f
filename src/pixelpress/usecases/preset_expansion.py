"""Using presets: finding them by name for an image's owner (their own, else the global one;
through the cache, so a hot URL asks the database nothing) and expanding the options that name
them. The expansion is what is hashed and rendered: editing a preset changes it."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pixelpress.domain.errors import Forbidden, NotFound, Unprocessable
from pixelpress.domain.keys import preset_key
from pixelpress.domain.models import ImageLimits, User
from pixelpress.domain.presets import NAME_RULE, check_name
from pixelpress.domain.spec import TransformSpec, negotiate, parse_options, plan, to_options
from pixelpress.domain.spec.url import expand_presets, preset_names, read_options
from pixelpress.ports import Cache, Database
from pixelpress.usecases.access import IMAGE_NOT_FOUND, visible_image
from pixelpress.usecases.delivery import Deliverer
from pixelpress.usecases.transforms import settle_spec

PRESET_TTL = 600
NONE = b"-"
"""Cached for a name the scope has no preset of (so unknown names cost no database either)."""
UNSIGNED_OPTIONS = ("f_auto",)
"""What a URL without a signature may carry beside public presets (and an extension)."""


@dataclass(frozen=True)
class Found:
    id: str
    name: str
    options: str
    public: bool


@dataclass(frozen=True)
class Expanded:
    options: str
    """With every preset replaced by its options (the URL's own after them)."""
    presets: tuple[str, ...]
    """The ids of the presets used: what they make is linked to them (and purged with them)."""


async def forget(owner_id: str | None, name: str, *, cache: Cache) -> None:
    await cache.delete(preset_key(owner_id, name))


async def _lookup(owner_id: str | None, name: str, db: Database, cache: Cache) -> Found | None:
    key = preset_key(owner_id, name)
    data = await cache.get(key)
    if data is not None:
        return None if data == NONE else Found(**json.loads(data))
    async with db.unit_of_work(readonly=True) as uow:
        preset = await uow.presets.get(owner_id, name)
    found = None if preset is None else Found(preset.id, preset.name, preset.options, preset.public)
    await cache.set(key, json.dumps(found.__dict__).encode() if found else NONE, ttl=PRESET_TTL)
    return found


async def find_preset(
    owner_id: str, name: str, *, db: Database, cache: Cache, own_only: bool = False
) -> Found:
    """The owner's preset of that name, else the global one (unless `own_only`); NotFound
    when there is none."""
    if NAME_RULE.fullmatch(name):
        found = await _lookup(owner_id, name, db, cache)
        if found is None and not own_only:
            found = await _lookup(None, name, db, cache)
        if found is not None:
            return found
    raise missing_preset(name)


def missing_preset(name: str) -> NotFound:
    return NotFound(f"There is no preset named '{name}'.", code="preset_not_found")


async def expand(
    owner_id: str,
    options: str,
    *,
    db: Database,
    cache: Cache,
    unsigned: bool = False,
) -> Expanded:
    """`options` with the presets it names expanded for `owner_id`. `unsigned`: the URL has no
    signature, so it may name only the owner's own public presets (and f_auto): a global one,
    public or not, never opens anybody's images to URLs they did not sign."""
    names = preset_names(options)
    if unsigned:
        check_unsigned(options)
    found = [
        await find_preset(owner_id, name, db=db, cache=cache, own_only=unsigned) for name in names
    ]
    if unsigned and not all(f.public for f in found):
        raise _not_public()
    text = expand_presets(options, {f.name: f.options for f in found})
    return Expanded(text, tuple(dict.fromkeys(f.id for f in found)))


def check_unsigned(options: str) -> None:
    """A URL without a signature names presets, and nothing else but f_auto and a version
    (whether they are public is known once they are found)."""
    parts = options.split(",")
    if not preset_names(options) or any(
        not p.startswith(("t_", "v_")) and p not in UNSIGNED_OPTIONS for p in parts
    ):
        raise _not_public()


def _not_public() -> Forbidden:
    return Forbidden(
        "A URL without a signature may name only public presets (and f_auto).",
        code="preset_not_public",
    )


async def owner_of(image_id: str, d: Deliverer) -> str:
    """Whose presets a URL for `image_id` names: its owner's (from the image's card when the
    cache has it)."""
    card = await d.records.card(image_id)
    if card is not None:
        return card.image.owner_id
    async with d.db.unit_of_work(readonly=True) as uow:
        image = await uow.images.get(image_id)
    if image is None:
        raise NotFound(IMAGE_NOT_FOUND, code="image_not_found")
    return image.owner_id


@dataclass(frozen=True)
class Settled:
    spec: TransformSpec | None
    presets: tuple[str, ...]


async def settle_options(
    image_id: str,
    options: str,
    *,
    user: User,
    db: Database,
    cache: Cache,
    limits: ImageLimits,
) -> Settled:
    """The spec that `options` (naming presets) gives for `user`'s image, checked against it
    (as a job or a minted URL needs it to be before anything is queued or signed)."""
    async with db.unit_of_work(readonly=True) as uow:
        image = await visible_image(uow, image_id, user)
    expanded = await expand(image.owner_id, options, db=db, cache=cache)
    spec = parse_options(expanded.options, limits=limits).spec
    if spec is not None:
        plan(
            spec, width=image.width, height=image.height, source_format=image.format, limits=limits
        )
    return Settled(spec, expanded.presets)


async def preset_spec(
    image_id: str,
    name: str,
    overrides: TransformSpec | None,
    *,
    user: User,
    db: Database,
    cache: Cache,
    limits: ImageLimits,
) -> Settled:
    """Preset `name` with `overrides` on top, for `user`'s image: the spec they give, checked
    (as a job needs it)."""
    overrides = await settle_spec(image_id, overrides, user=user, db=db, limits=limits)
    own = to_options(overrides.canonical() if overrides else None)
    options = with_preset(name, own)
    return await settle_options(image_id, options, user=user, db=db, cache=cache, limits=limits)


def with_preset(name: str, own: str) -> str:
    """Options naming preset `name` first, then `own` (which override it)."""
    return naming(name) + ("" if own == "_" else f",{own}")


def naming(name: str) -> str:
    """The option that names preset `name` (`t_thumb`). A name given by a caller is checked
    first: options that follow a comma in it would be taken as vouched for."""
    return f"t_{check_name(name)}"


async def render_params(
    image_id: str,
    names: Sequence[str],
    *,
    user: User,
    db: Database,
    cache: Cache,
    accept: str,
) -> tuple[dict[str, str], tuple[str, ...], bool]:
    """The query parameters (`domain.spec.query`) that presets stand for, for an owner's render
    of `user`'s image, the presets' ids, and whether they said f_auto (then the format is
    picked from `accept`)."""
    async with db.unit_of_work(readonly=True) as uow:
        image = await visible_image(uow, image_id, user)
    expanded = await expand(image.owner_id, ",".join(map(naming, names)), db=db, cache=cache)
    read = read_options(expanded.options, ImageLimits().max_edge)
    if read.factor is not None or read.auto_dpr or read.auto_width is not None:
        raise Unprocessable(
            "dpr_ and w_auto are for URLs: the owner's render takes width and height.",
            code="invalid_options",
            field="preset",
        )
    params = read.params
    if read.auto:
        params["format"] = negotiate(accept)
    return params, expanded.presets, read.auto


def preset_watermark(spec: TransformSpec, given: Mapping[str, str]) -> TransformSpec:
    """An owner's render whose watermark image came from a preset (not from `given`, the
    request's own parameters): named by id, as the preset's definition checked it."""
    if "watermarkImage" in given or spec.watermark_ref is None:
        return spec
    return spec.with_watermark_image(spec.watermark_ref)
