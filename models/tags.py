"""Tags on tasks: at most 20 per task, 1-40 characters, trimmed, compared without case, kept in the
user's spelling.

A task stores its tags twice: ``tags`` as the user spelled them, ``tag_keys`` lower-cased, in the
same order. Filters match ``tag_keys`` (``@>``, answered by its GIN index); responses show
``tags``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

MAX_TAGS_PER_TASK = 20
TAG_MAX_LENGTH = 40
# ASCII white space only, as the contract's pattern sees it.
_WHITE_SPACE = " \t\n\r\f\v"

_TAG_PAGE = sa.text(
    """
    SELECT tag.key, mode() WITHIN GROUP (ORDER BY tag.spelling) AS name, count(*) AS count
    FROM tasks, unnest(tasks.tags, tasks.tag_keys) AS tag(spelling, key)
    WHERE tasks.user_id = :user_id AND tag.key > :after
    GROUP BY tag.key
    ORDER BY tag.key
    LIMIT :limit
    """
)


def tag_key(tag: str) -> str:
    return tag.strip(_WHITE_SPACE).lower()


def normalized_tags(tags: Sequence[str]) -> list[str]:
    """Trimmed, each once (the first spelling of tags equal without case wins), in given order."""
    kept: dict[str, str] = {}
    for tag in tags:
        kept.setdefault(tag_key(tag), tag.strip(_WHITE_SPACE))
    return list(kept.values())


def tag_page(
    session: Session, owner_id: str, limit: int, after: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """The owner's tags in key order after ``after``, each with its commonest spelling and the
    number of tasks that carry it; and the key the next page starts after (None on the last)."""
    rows = session.execute(_TAG_PAGE, {"user_id": owner_id, "after": after or "", "limit": limit + 1}).all()
    items = [{"name": row.name, "count": row.count} for row in rows[:limit]]
    return items, (rows[limit - 1].key if len(rows) > limit else None)
