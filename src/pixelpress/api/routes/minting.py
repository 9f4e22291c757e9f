"""POST /urls: many signed URLs in one request, such as a page of thumbnails at several widths."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from pixelpress.api.routes.delivery import MinterDep, MintIn, MintOut, mint_url
from pixelpress.api.routing import api_router
from pixelpress.domain.errors import DomainError

router = api_router(tags=["delivery"])
MAX_ITEMS = 100


class MintItem(MintIn):
    imageId: str = Field(max_length=64)


class MintManyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    items: list[MintItem] = Field(min_length=1, max_length=MAX_ITEMS)


class MintManyOut(BaseModel):
    items: list[MintOut]


def _name_item(exc: DomainError, index: int) -> DomainError:
    """The error of item `index`, its fields named from the request's root (`items[2]...`)."""
    where = f"items[{index}]"
    if isinstance(exc.details, list) and all(
        isinstance(d, dict) and "field" in d for d in exc.details
    ):
        exc.details = [{**d, "field": f"{where}.{d['field']}"} for d in exc.details]
    elif exc.details is None:
        exc.details = [{"field": where, "message": exc.message}]
    return exc


@router.post("/urls", response_model=MintManyOut)
async def mint_many(body: MintManyIn, minter: MinterDep) -> MintManyOut:
    """Up to 100 signed URLs, each item as `POST /images/{imageId}/urls` takes it, answered in
    order. All or nothing: the first item refused refuses the request, naming it in `details`."""
    minted: list[MintOut] = []
    for index, item in enumerate(body.items):
        try:
            minted.append(await mint_url(item.imageId, item, minter))
        except DomainError as exc:
            raise _name_item(exc, index) from None
    return MintManyOut(items=minted)
