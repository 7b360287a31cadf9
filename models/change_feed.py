"""The change feed: an owner's changes committed since a sync token's snapshot, exactly once.

A position is a PostgreSQL snapshot (``pg_current_snapshot()``: xmin, xmax and the transactions
in progress), not a sequence number. "Not visible in the client's snapshot, visible in a newer
one" is exactly the set of changes committed in between, including those written by a
transaction that started before the client's snapshot and committed after it (a sequence number
or a timestamp would have skipped it for good). No session state is involved, so it works
through a transaction-mode pooler.

A delta that does not fit in one page is walked in change-id order towards a fixed target
snapshot; the last page's token holds the target as its new base.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, delete, select

from models.change import Change
from models.errors import SyncTokenExpired
from models.timestamps import utc_now

EXPIRED_CHANGES_PURGED_PER_REQUEST = 1000
# Change rows are stamped with their transaction's start; a transaction committing a little after
# a token was issued may have started before it. Rows are kept this much longer than tokens.
PURGE_MARGIN = timedelta(days=1)

_PAGE = sa.text(
    """
    WITH target AS (
        SELECT coalesce(CAST(:target AS pg_snapshot), pg_current_snapshot()) AS snapshot
    )
    SELECT target.snapshot::text AS target_snapshot, change.id
    FROM target LEFT JOIN LATERAL (
        SELECT changes.id FROM changes
        WHERE changes.user_id = :user_id
          AND changes.xid >= pg_snapshot_xmin(CAST(:base AS pg_snapshot))::text::bigint
          AND changes.id > :after
          AND NOT pg_visible_in_snapshot(changes.xid::text::xid8, CAST(:base AS pg_snapshot))
          AND pg_visible_in_snapshot(changes.xid::text::xid8, target.snapshot)
        ORDER BY changes.id
        LIMIT :limit
    ) AS change ON true
    """
)


@dataclass(frozen=True)
class FeedPosition:
    """Everything visible in ``base`` has been delivered; mid-delta, so has every change up to
    ``after`` of those visible in ``target``."""

    base: str
    base_taken_at: datetime
    target: str | None = None
    target_taken_at: datetime | None = None
    after: int = 0

    def to_json(self) -> list[Any]:
        target_taken_at = self.target_taken_at.isoformat() if self.target_taken_at else None
        return [self.base, self.base_taken_at.isoformat(), self.target, target_taken_at, self.after]

    @classmethod
    def from_json(cls, value: list[Any]) -> FeedPosition:
        base, base_taken_at, target, target_taken_at, after = value
        return cls(
            base=base,
            base_taken_at=datetime.fromisoformat(base_taken_at),
            target=target,
            target_taken_at=datetime.fromisoformat(target_taken_at) if target_taken_at else None,
            after=after,
        )


class ChangeFeed:
    def __init__(self, session: Session, owner_id: str, retention: timedelta) -> None:
        self._session = session
        self._owner_id = owner_id
        self._retention = retention

    def start(self) -> FeedPosition:
        """Now: a client that lists everything after taking this position misses nothing."""
        snapshot = self._session.scalar(sa.select(sa.func.pg_current_snapshot().cast(sa.Text)))
        assert snapshot is not None
        return FeedPosition(base=snapshot, base_taken_at=utc_now())

    def page(self, position: FeedPosition, limit: int) -> tuple[Sequence[Change], FeedPosition, bool]:
        """Up to ``limit`` changes after ``position`` in order, the position after them, and
        whether more are waiting."""
        now = utc_now()
        if position.base_taken_at < now - self._retention:
            raise SyncTokenExpired
        self._purge_expired(now)
        rows = self._session.execute(
            _PAGE,
            {
                "user_id": self._owner_id,
                "base": position.base,
                "target": position.target,
                "after": position.after,
                "limit": limit + 1,
            },
        ).all()
        target = rows[0].target_snapshot
        target_taken_at = position.target_taken_at or now
        ids = [row.id for row in rows if row.id is not None]
        changes = self._session.exec(select(Change).where(col(Change.id).in_(ids[:limit]))).all()
        changes = sorted(changes, key=lambda change: change.id or 0)
        if len(ids) > limit:
            last_id = ids[limit - 1]
            return (
                changes,
                FeedPosition(position.base, position.base_taken_at, target, target_taken_at, last_id),
                True,
            )
        return changes, FeedPosition(base=target, base_taken_at=target_taken_at), False

    def _purge_expired(self, now: datetime) -> None:
        """A few expired changes go with every read, so the table cleans itself under traffic."""
        expired = (
            select(Change.id)
            .where(col(Change.changed_at) < now - self._retention - PURGE_MARGIN)
            .limit(EXPIRED_CHANGES_PURGED_PER_REQUEST)
        )
        self._session.execute(delete(Change).where(col(Change.id).in_(expired)))
