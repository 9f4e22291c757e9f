"""Defining presets (see `domain.presets`): an owner's own, or global ones (admins only).

Options come in the URL grammar (`w_200,h_200,c_cover`) or as a JSON spec (the transform body);
either is kept as canonical URL options. Editing a preset's options, or deleting it, purges the
variants made through it (rows, stored objects and cached records): its expansion, and so the
spec hash of what it makes, is no longer what they were made from."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from pixelpress.domain.errors import Conflict, Forbidden, InvalidInput, Unprocessable
from pixelpress.domain.ids import new_id
from pixelpress.domain.models import ImageLimits, Role, User, Variant
from pixelpress.domain.presets import Preset, check_name
from pixelpress.domain.spec import Hint, TransformSpec, parse_options, parse_spec, to_options
from pixelpress.domain.spec.url import preset_names
from pixelpress.ports import Cache, Clock, Database, ObjectStorage, UnitOfWork
from pixelpress.usecases.access import may_see
from pixelpress.usecases.preset_expansion import forget, missing_preset
from pixelpress.usecases.records import RecordCache
from pixelpress.usecases.transforms import resolve_watermark


@dataclass(frozen=True)
class PresetStore:
    """What changing presets touches: their rows, and what was made through them."""

    db: Database
    cache: Cache
    storage: ObjectStorage
    records: RecordCache
    clock: Clock
    limits: ImageLimits


@dataclass(frozen=True)
class PresetInput:
    options: str | None = None
    """In the URL grammar; or else:"""
    transformations: Mapping[str, Any] | None = None
    """A JSON spec, as the transform body takes it."""
    public: bool = False


def _scope(user: User, is_global: bool) -> str | None:
    if not is_global:
        return user.id
    if user.role is not Role.ADMIN:
        raise Forbidden("Only admins define global presets.", code="admin_only")
    return None


def _unprocessable(exc: InvalidInput) -> Unprocessable:
    if isinstance(exc, Unprocessable):
        return exc
    return Unprocessable(exc.message, code=exc.code, details=exc.details)


async def _canonical(uow: UnitOfWork, given: PresetInput, user: User, limits: ImageLimits) -> str:
    """The options in canonical URL form, checked (422 when they make no sense)."""
    if (given.options is None) == (given.transformations is None):
        raise Unprocessable(
            "Give the preset's options or its transformations (one of them).",
            code="invalid_preset",
            field="options",
        )
    auto = False
    hints: tuple[Hint, ...] = ()  # dpr_auto and w_auto stay as they are: hints size them
    try:
        spec: TransformSpec | None
        if given.options is not None:
            if preset_names(given.options) or "exp_" in given.options:
                raise InvalidInput(
                    "A preset holds no other preset (t_) and no expiry (exp_).",
                    code="invalid_options",
                    field="options",
                )
            parsed = parse_options(given.options, limits=limits)
            spec, auto, hints = parsed.spec, parsed.auto_format, parsed.hints
        else:
            spec = parse_spec(given.transformations, limits=limits)
    except InvalidInput as exc:
        raise _unprocessable(exc) from None
    if spec is None and not auto:
        raise Unprocessable("A preset must do something.", code="invalid_options", field="options")
    if spec is not None:
        spec = await _settled_watermark(uow, spec, user)
    return to_options(
        spec.canonical() if spec else None,
        auto=auto,
        auto_dpr=Hint.DPR in hints,
        auto_width=Hint.WIDTH in hints,
    )


async def _settled_watermark(uow: UnitOfWork, spec: TransformSpec, user: User) -> TransformSpec:
    """An image watermark named by id or filename, as one of the user's images."""
    if spec.watermark_image_id is not None:
        mark = await uow.images.get(spec.watermark_image_id)
        if mark is None or not may_see(user, mark.owner_id):
            raise Unprocessable(
                "The watermark image is not one of your images.",
                code="watermark_not_found",
                field="watermark",
            )
        return spec
    return await resolve_watermark(uow, spec, user)


async def define_preset(
    name: str, given: PresetInput, *, is_global: bool, user: User, s: PresetStore
) -> Preset:
    owner_id = _scope(user, is_global)
    check_name(name)
    now = s.clock.now()
    async with s.db.unit_of_work() as uow:
        options = await _canonical(uow, given, user, s.limits)
        preset = Preset(new_id(), owner_id, name, options, given.public, now, now)
        try:
            await uow.presets.add(preset)
        except Conflict:
            raise Conflict(
                f"There is already a preset named '{name}'.", code="preset_exists"
            ) from None
        await uow.commit()
    await forget(owner_id, name, cache=s.cache)  # it may have been cached as absent
    return preset


async def list_presets(*, user: User, db: Database) -> list[Preset]:
    """The user's presets and the global ones."""
    async with db.unit_of_work(readonly=True) as uow:
        return await uow.presets.list_for(user.id)


async def get_preset(name: str, *, is_global: bool, user: User, db: Database) -> Preset:
    """The user's preset of that name, else the global one (`is_global`: the global one)."""
    async with db.unit_of_work(readonly=True) as uow:
        found = None if is_global else await uow.presets.get(user.id, name)
        found = found or await uow.presets.get(None, name)
    if found is None:
        raise missing_preset(name)
    return found


async def _existing(uow: UnitOfWork, owner_id: str | None, name: str) -> Preset:
    found = await uow.presets.get(owner_id, name)
    if found is None:
        raise missing_preset(name)
    return found


async def edit_preset(
    name: str, given: PresetInput, *, is_global: bool, user: User, s: PresetStore
) -> Preset:
    """New options (or publicity) for a preset; new options purge what it made."""
    owner_id = _scope(user, is_global)
    await forget(owner_id, name, cache=s.cache)
    async with s.db.unit_of_work() as uow:
        current = await _existing(uow, owner_id, name)
        options = await _canonical(uow, given, user, s.limits)
        edited = replace(current, options=options, public=given.public, updated_at=s.clock.now())
        await uow.presets.update(edited)
        purged = await uow.presets.purge_variants(current.id) if options != current.options else []
        await uow.commit()
    await _clean_up(purged, owner_id, name, s)
    return edited


async def delete_preset(name: str, *, is_global: bool, user: User, s: PresetStore) -> None:
    owner_id = _scope(user, is_global)
    await forget(owner_id, name, cache=s.cache)
    async with s.db.unit_of_work() as uow:
        current = await _existing(uow, owner_id, name)
        purged = await uow.presets.purge_variants(current.id)
        await uow.presets.delete(current.id)
        await uow.commit()
    await _clean_up(purged, owner_id, name, s)


async def _clean_up(purged: list[Variant], owner_id: str | None, name: str, s: PresetStore) -> None:
    """After the commit: the purged variants' objects and records, and the cached lookup (once
    more: a reader may have cached the old preset meanwhile)."""
    for variant in purged:
        await s.records.forget(variant.image_id, variant.spec_hash)
        await s.storage.delete(variant.storage_key)
    await forget(owner_id, name, cache=s.cache)
