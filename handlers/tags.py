"""The user's tags, with how many tasks carry each."""

from __future__ import annotations

from handlers.context import HandlerResult, owners_unit_of_work
from handlers.paging import Listing


def list_tags(user_id: str, limit: int, cursor: str | None = None) -> HandlerResult:
    listing = Listing(user=user_id, resource="tags")
    after = listing.start_after(cursor)
    with owners_unit_of_work(user_id, read_only=True) as uow:
        items, next_key = uow.tags_page(limit, after[0] if after else None)
    return listing.page(items, [next_key] if next_key is not None else None)
