"""Opaque, signed list cursors, bound to the user, filters and sort they were issued for.

A cursor carries only where the next page starts; it is signed (itsdangerous, keyed from the
service's secret) so that it can be neither forged nor edited, and it names a digest of the
listing it belongs to, so that it cannot be replayed against another user's or another query's
list. No server state: any worker can continue any walk.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson
from itsdangerous import BadData, URLSafeSerializer

from models.errors import InvalidCursor


def listing_digest(**listing: Any) -> str:
    return hashlib.sha256(orjson.dumps(listing, option=orjson.OPT_SORT_KEYS)).hexdigest()[:32]


class CursorCodec:
    def __init__(self, secret: str) -> None:
        self._serializer = URLSafeSerializer(secret, salt="tasks-api list cursor")

    def encode(self, listing: str, position: list[Any]) -> str:
        return str(self._serializer.dumps({"l": listing, "p": position}))

    def decode(self, cursor: str, listing: str, *, parameter: str = "cursor") -> list[Any]:
        """The position in ``cursor``; InvalidCursor (naming ``parameter``) unless this service
        signed it for ``listing``."""
        try:
            data = self._serializer.loads(cursor)
        except BadData:
            raise InvalidCursor(parameter) from None
        if not isinstance(data, dict) or data.get("l") != listing or not isinstance(data.get("p"), list):
            raise InvalidCursor(parameter)
        position: list[Any] = data["p"]
        return position
