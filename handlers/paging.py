"""Keyset pages for every listing: signed cursors in, ``{"items", "next_cursor"}`` and ``Link`` out."""

from __future__ import annotations

from typing import Any

from handlers.context import HandlerResult, json_result, request_url, services
from tasks_api.cursors import listing_digest


class Listing:
    """One listing (a user, a resource, its filters and sort): where a page starts, and the page."""

    def __init__(self, **identity: Any) -> None:
        self._digest = listing_digest(**identity)
        self._cursors = services().cursor_codec

    def start_after(self, cursor: str | None) -> list[Any] | None:
        """The position a cursor continues after (400 for a cursor of another listing)."""
        return self._cursors.decode(cursor, self._digest) if cursor else None

    def page(self, items: list[dict[str, Any]], next_position: list[Any] | None) -> HandlerResult:
        next_cursor = self._cursors.encode(self._digest, next_position) if next_position else None
        headers = {}
        if next_cursor:
            next_url = request_url().include_query_params(cursor=next_cursor)
            headers["Link"] = f'<{next_url.path}?{next_url.query}>; rel="next"'
        return json_result({"items": items, "next_cursor": next_cursor}, headers=headers)
