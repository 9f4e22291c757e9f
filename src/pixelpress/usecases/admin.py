"""What the admin role may do: manage users, see every image, read the numbers."""

from __future__ import annotations

from dataclasses import dataclass

from pixelpress.domain.errors import Conflict, Forbidden, NotFound
from pixelpress.domain.keys import image_prefix
from pixelpress.domain.models import (
    ImageFilter,
    JobStatus,
    LogLevel,
    Page,
    PageOf,
    Role,
    User,
)
from pixelpress.ports import Cache, Clock, Database, ObjectStorage
from pixelpress.usecases.images import ImageView, views_of
from pixelpress.usecases.logs import record_event


def require_admin(user: User) -> None:
    if user.role is not Role.ADMIN:
        raise Forbidden("This needs the admin role.", code="admin_only")


@dataclass(frozen=True)
class Stats:
    users: int
    images: int
    bytes_stored: int
    jobs: dict[JobStatus, int]


async def list_users(*, admin: User, page: Page, db: Database) -> PageOf[User]:
    require_admin(admin)
    async with db.unit_of_work(readonly=True) as uow:
        return await uow.users.list_page(page)


async def update_user(
    user_id: str,
    *,
    admin: User,
    role: Role | None,
    disabled: bool | None,
    db: Database,
    clock: Clock,
) -> User:
    """Role and disabled take effect at once: both are read from the database on every request."""
    require_admin(admin)
    if user_id == admin.id and (role is Role.USER or disabled):
        raise Conflict("Admins cannot demote or disable themselves.", code="self_change")
    async with db.unit_of_work() as uow:
        user = await uow.users.get(user_id)
        if user is None:
            raise NotFound("User not found.", code="user_not_found")
        changes: dict[str, object] = {}
        if role is not None and role is not user.role:
            changes["role"] = str(role)
            user.role = role
        if disabled is not None and disabled != user.disabled:
            changes["disabled"] = disabled
            user.disabled = disabled
        await uow.users.update(user)
        if changes:
            await record_event(
                uow,
                LogLevel.WARNING,
                f"Admin {admin.username} changed user {user.username}: {changes}",
                clock=clock,
                user_id=admin.id,
                context={"action": "user.update", "target": user.id, "changes": changes},
            )
        await uow.commit()
    return user


async def delete_user(
    user_id: str, *, admin: User, db: Database, storage: ObjectStorage, cache: Cache, clock: Clock
) -> None:
    """The user and everything of theirs: rows first, then their stored objects."""
    require_admin(admin)
    if user_id == admin.id:
        raise Conflict("Admins cannot delete themselves.", code="self_change")
    await cache.ping()  # their images' cache entries must be purgeable (see delete_image)
    async with db.unit_of_work() as uow:
        user = await uow.users.get(user_id)
        if user is None:
            raise NotFound("User not found.", code="user_not_found")
        image_ids = await uow.images.ids_of_owner(user.id)
        await uow.users.delete(user.id)
        await record_event(
            uow,
            LogLevel.WARNING,
            f"Admin {admin.username} deleted user {user.username} and {len(image_ids)} images.",
            clock=clock,
            user_id=admin.id,
            context={"action": "user.delete", "target": user.id, "images": len(image_ids)},
        )
        await uow.commit()
    for image_id in image_ids:
        await storage.delete_prefix(image_prefix(image_id))
        await cache.delete_prefix(image_prefix(image_id))


async def list_all_images(
    *, admin: User, page: Page, db: Database, where: ImageFilter = ImageFilter()
) -> PageOf[ImageView]:
    require_admin(admin)
    async with db.unit_of_work(readonly=True) as uow:
        found = await uow.images.list_page(None, page, where)
        views = await views_of(uow, found.items)
    return PageOf(items=views, page=found.page, total=found.total)


async def stats(*, admin: User, db: Database) -> Stats:
    require_admin(admin)
    async with db.unit_of_work(readonly=True) as uow:
        users = await uow.users.count()
        images, stored = await uow.images.totals()
        jobs = await uow.jobs.count_by_status()
    return Stats(users=users, images=images, bytes_stored=stored, jobs=jobs)
