"""What a task listing asks for: filters, an order, and where the page starts (keyset)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from pydantic import AwareDatetime
from sqlalchemy.dialects.postgresql import ARRAY, TSQUERY
from sqlmodel import SQLModel, col

from models.statement_settings import for_statement
from models.tags import tag_key
from models.task import (
    DUE_AT_NULLS_LAST_ASCENDING,
    DUE_AT_NULLS_LAST_DESCENDING,
    OWNER_LEXEMES_SQL,
    OWNER_TAG_HEX_DIGITS,
    Task,
    TaskPriority,
    TaskStatus,
)

_WORDS = re.compile(r"[^\W_]+")


class TaskFilters(SQLModel):
    status: TaskStatus | None = None
    priority: TaskPriority | None = None
    completed: bool | None = None
    due_before: AwareDatetime | None = None
    due_after: AwareDatetime | None = None
    updated_since: AwareDatetime | None = None
    q: str | None = None
    list_id: UUID | None = None
    tag: list[str] | None = None

    def conditions(self, owner_id: str) -> list[sa.ColumnElement[bool]]:
        conditions: list[sa.ColumnElement[bool]] = []
        if self.status is not None:
            conditions.append(col(Task.status) == self.status)
        if self.priority is not None:
            conditions.append(col(Task.priority) == self.priority)
        if self.completed is not None:
            is_completed = col(Task.status) == TaskStatus.COMPLETED
            conditions.append(is_completed if self.completed else sa.not_(is_completed))
        if self.due_before is not None:
            conditions.append(col(Task.due_at) < self.due_before)
        if self.due_after is not None:
            conditions.append(col(Task.due_at) > self.due_after)
        if self.updated_since is not None:
            conditions.append(col(Task.updated_at) >= self.updated_since)
        if self.q is not None:
            conditions.append(_matches_text(self.q, owner_id))
        if self.list_id is not None:
            conditions.append(col(Task.list_id) == self.list_id)
        if self.tag:
            # Every tag given must be on the task; @> on tag_keys is answered by its GIN index.
            wanted = sorted({tag_key(tag) for tag in self.tag})
            conditions.append(col(Task.tag_keys).contains(sa.cast(wanted, ARRAY(sa.String))))
        return conditions


def _matches_text(query: str, owner_id: str) -> sa.ColumnElement[bool]:
    """Every word of ``query`` starts a word of the title or description, in any case.

    Answered from the owner's entries of the GIN index ``ix_tasks_owner_search``, whose keys are
    the owner's tag followed by a word of ``search_vector``: each word becomes the prefix query
    tag + lower(word), ``lower`` being all the 'simple' configuration does to a word
    (tests/test_list_query_plans.py checks that PostgreSQL uses the index). Words hold letters
    and digits only, so quoting them in a tsquery is safe.
    """
    words = _WORDS.findall(query)
    if not words:
        return sa.false()
    tag = sa.func.left(sa.func.md5(sa.literal(owner_id)), OWNER_TAG_HEX_DIGITS)
    prefixes = [
        sa.cast(sa.literal("'") + tag + sa.func.lower(sa.literal(word)) + sa.literal("':*"), TSQUERY)
        for word in words
    ]
    every_word: sa.ColumnElement[Any] = prefixes[0]
    for prefix in prefixes[1:]:
        every_word = every_word.op("&&")(prefix)
    owner_lexemes: sa.ColumnElement[Any] = sa.literal_column(OWNER_LEXEMES_SQL)
    return owner_lexemes.op("@@")(every_word)


def listing_limits(timeout_ms: int) -> dict[str, Any]:
    """Execution options for a listing: ``timeout_ms`` at most, and one backend.

    The settings travel with the query itself (``models.statement_settings``), so they cost no
    round trip and end with it, through a transaction-mode pooler (PgBouncer, Neon's) too.
    Parallel workers are off because a search that takes three backends takes them from other
    users.
    """
    return for_statement(statement_timeout=timeout_ms, max_parallel_workers_per_gather=0)


QUERY_CANCELED = "57014"  # SQLSTATE of a statement cancelled by statement_timeout


def statement_timed_out(error: sa.exc.DBAPIError) -> bool:
    return getattr(error.orig, "pgcode", None) == QUERY_CANCELED


@dataclass(frozen=True)
class TaskOrder:
    """A sort field and direction; the key is (that field's value, id), as the indexes are."""

    field: str
    descending: bool

    @classmethod
    def parse(cls, sort: str) -> TaskOrder:
        return cls(field=sort.removeprefix("-"), descending=sort.startswith("-"))

    def expression(self) -> sa.ColumnElement[Any]:
        if self.field == "due_at":
            return sa.literal_column(
                DUE_AT_NULLS_LAST_DESCENDING if self.descending else DUE_AT_NULLS_LAST_ASCENDING
            )
        return sa.column(_COLUMNS[self.field])

    def order_by(self) -> list[sa.ColumnElement[Any]]:
        key, tiebreak = self.expression(), col(Task.id)
        if self.descending:
            return [key.desc(), tiebreak.desc()]
        return [key.asc(), tiebreak.asc()]

    def after(self, position: list[Any]) -> sa.ColumnElement[bool]:
        """Rows strictly after ``position`` (a key from ``position_of``) in this order."""
        value, task_id = position
        bound: sa.ColumnElement[Any]
        if self.field == "due_at":
            no_due_date = "'-infinity'::timestamptz" if self.descending else "'infinity'::timestamptz"
            bound = sa.func.coalesce(
                sa.cast(value, sa.DateTime(timezone=True)), sa.literal_column(no_due_date)
            )
        elif self.field == "priority":
            bound = sa.literal(value, sa.SmallInteger)
        elif self.field == "position":
            bound = sa.literal(value, sa.BigInteger)
        else:
            bound = sa.cast(value, sa.DateTime(timezone=True))
        row = sa.tuple_(self.expression(), col(Task.id))
        position_row = sa.tuple_(bound, sa.literal(UUID(task_id)))
        return row < position_row if self.descending else row > position_row

    def position_of(self, task: Task | sa.Row[Any]) -> list[Any]:
        """The task's place in this order, as JSON-ready values (it goes into a cursor)."""
        value: Any = getattr(task, _COLUMNS[self.field])
        if isinstance(value, datetime):
            value = value.isoformat()
        return [value, str(task.id)]


_COLUMNS = {
    "created_at": "created_at",
    "updated_at": "updated_at",
    "due_at": "due_at",
    "priority": "priority_rank",
    "position": "position",
}
