"""Who may see what: owners see their own objects, admins see all; the rest do not exist."""

from __future__ import annotations

from pixelpress.domain.errors import NotFound
from pixelpress.domain.models import Image, Role, User
from pixelpress.ports import UnitOfWork

IMAGE_NOT_FOUND = "Image not found."


def may_see(user: User, owner_id: str) -> bool:
    return owner_id == user.id or user.role is Role.ADMIN


async def visible_image(uow: UnitOfWork, image_id: str, user: User) -> Image:
    """The image if this user may see it; another user's image is as absent as a missing one."""
    image = await uow.images.get(image_id)
    if image is None or not may_see(user, image.owner_id):
        raise NotFound(IMAGE_NOT_FOUND, code="image_not_found")
    return image
