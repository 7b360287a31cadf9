"""Manual order: each task has a ``position`` in its list, and moves without rewriting the list.

Positions are integers with gaps of ``GAP``: a task placed between two neighbours takes the middle
of their gap, so a move writes one row. Only when two neighbours have no integer left between them
is the list renumbered (every ``GAP`` again): after about 16 moves into the very same spot, and
never for ordinary use. A renumbering bumps the version of every task it moves, so the change
feed carries the new positions to offline clients.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from models.errors import InvalidInput
from models.task import Task

GAP = 1 << 16

_RENUMBER = sa.text(
    """
    UPDATE tasks SET position = renumbered.position, version = tasks.version + 1,
                     updated_at = clock_timestamp()
    FROM (SELECT id, row_number() OVER (ORDER BY position, id) * :gap AS position
          FROM tasks WHERE list_id = :list_id AND user_id = :user_id AND id <> :moving) AS renumbered
    WHERE tasks.id = renumbered.id AND tasks.position <> renumbered.position
    """
)


def end_of_list_sql(list_id: UUID | sa.ColumnElement[Any]) -> sa.ScalarSelect[Any]:
    """A position after every task in the list, as a subquery: the statement that puts a task
    there (a create's INSERT, a move's UPDATE) computes it itself, in no round trip of its own."""
    return (
        sa.select(func.coalesce(func.max(col(Task.position)), 0) + GAP)
        .where(col(Task.list_id) == list_id)
        .scalar_subquery()
    )


def position_after(session: Session, owner_id: str, list_id: UUID, after: UUID | None, moving: UUID) -> int:
    """The position right after task ``after`` (None: before the first) in the list, for ``moving``.
    The caller holds the list's row lock, so no other move races for the same gap."""
    for _ in range(2):  # at most one renumbering is ever needed
        before, following = _neighbours(session, owner_id, list_id, after, moving)
        if before is None and following is None:
            return GAP
        if before is None:
            assert following is not None
            return following - GAP
        if following is None:
            return before + GAP
        if following - before >= 2:
            return (before + following) // 2
        session.execute(_RENUMBER, {"gap": GAP, "list_id": list_id, "user_id": owner_id, "moving": moving})
        session.expire_all()
    raise RuntimeError("no gap after renumbering the list")


def _neighbours(
    session: Session, owner_id: str, list_id: UUID, after: UUID | None, moving: UUID
) -> tuple[int | None, int | None]:
    in_list = (col(Task.list_id) == list_id, col(Task.user_id) == owner_id, col(Task.id) != moving)
    before: int | None = None
    if after is not None:
        row = session.exec(select(Task.position, Task.id).where(*in_list, col(Task.id) == after)).first()
        if row is None:
            detail = f"there is no task {after} in list {list_id} (other than the one moved)"
            raise InvalidInput([{"pointer": "/after", "detail": detail}])
        before = row[0]
        following = session.scalar(
            select(Task.position)
            .where(*in_list, sa.tuple_(col(Task.position), col(Task.id)) > sa.tuple_(row[0], row[1]))
            .order_by(col(Task.position), col(Task.id))
            .limit(1)
        )
    else:
        following = session.scalar(select(func.min(Task.position)).where(*in_list))
    return before, following
