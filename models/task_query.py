"""What a task listing asks for: filters, an order, and where the page starts (keyset)."""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from pydantic import AwareDatetime
from sqlalchemy.dialects.postgresql import ARRAY, TSQUERY
from sqlmodel import SQLModel

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
from models.task_rows import TASK_COLUMNS, TASKS

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

    def statement_inputs(self) -> tuple[FilterShape, dict[str, Any]]:
        """What of these filters decides the SQL (``page_statement`` is built once per shape), and
        the values that statement binds (besides ``owner``)."""
        compared = {name: value for name in _COMPARED if (value := getattr(self, name)) is not None}
        parameters: dict[str, Any] = dict(compared)
        words = None if self.q is None else _WORDS.findall(self.q)
        if words is not None:
            parameters |= {f"word_{n}": word for n, word in enumerate(words)}
        if self.tag:
            parameters["tag_keys"] = sorted({tag_key(tag) for tag in self.tag})
        shape = FilterShape(
            compared=frozenset(compared),
            completed=self.completed,
            words=None if words is None else len(words),
            tagged=bool(self.tag),
        )
        return shape, parameters


@dataclass(frozen=True)
class FilterShape:
    compared: frozenset[str]  # the filters that compare a column with their value
    completed: bool | None
    words: int | None  # how many words ``q`` searches for (None: no search)
    tagged: bool

    def conditions(self) -> list[sa.ColumnElement[bool]]:
        conditions = [condition() for name, condition in _COMPARED.items() if name in self.compared]
        if self.completed is not None:
            is_completed = TASKS.c.status == TaskStatus.COMPLETED
            conditions.append(is_completed if self.completed else sa.not_(is_completed))
        if self.words is not None:
            conditions.append(_matches_words(self.words))
        if self.tagged:
            # Every tag given must be on the task; @> on tag_keys is answered by its GIN index.
            keys = sa.bindparam("tag_keys", type_=ARRAY(sa.String))
            conditions.append(TASKS.c.tag_keys.contains(sa.cast(keys, ARRAY(sa.String))))
        return conditions


def _compared(column: sa.Column[Any], compare: Callable[[Any, Any], Any], name: str) -> Callable[[], Any]:
    return lambda: compare(column, sa.bindparam(name, type_=column.type))


# Each filter that compares a column with its value, as a condition on its bound parameter.
_COMPARED: dict[str, Callable[[], sa.ColumnElement[bool]]] = {
    "status": _compared(TASKS.c.status, operator.eq, "status"),
    "priority": _compared(TASKS.c.priority, operator.eq, "priority"),
    "due_before": _compared(TASKS.c.due_at, operator.lt, "due_before"),
    "due_after": _compared(TASKS.c.due_at, operator.gt, "due_after"),
    "updated_since": _compared(TASKS.c.updated_at, operator.ge, "updated_since"),
    "list_id": _compared(TASKS.c.list_id, operator.eq, "list_id"),
}
if set(TaskFilters.model_fields) != set(_COMPARED) | {"completed", "q", "tag"}:
    raise TypeError("every field of TaskFilters needs its condition in models/task_query.py")

_OWNER = sa.bindparam("owner", type_=TASKS.c.user_id.type)


def _word(number: int) -> sa.BindParameter[str]:
    return sa.bindparam(f"word_{number}", type_=sa.String)


def _matches_words(count: int) -> sa.ColumnElement[bool]:
    """Every word of the search (``word_0`` ...) starts a word of the title or description, in
    any case.

    Answered from the owner's entries of the GIN index ``ix_tasks_owner_search``, whose keys are
    the owner's tag followed by a word of ``search_vector``: each word becomes the prefix query
    tag + lower(word), ``lower`` being all the 'simple' configuration does to a word
    (tests/test_list_query_plans.py checks that PostgreSQL uses the index). Words hold letters
    and digits only, so quoting them in a tsquery is safe.
    """
    if not count:
        return sa.false()
    tag = sa.func.left(sa.func.md5(_OWNER), OWNER_TAG_HEX_DIGITS)
    prefixes = [
        sa.cast(sa.literal("'") + tag + sa.func.lower(_word(n)) + sa.literal("':*"), TSQUERY)
        for n in range(count)
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
        key, tiebreak = self.expression(), TASKS.c.id
        if self.descending:
            return [key.desc(), tiebreak.desc()]
        return [key.asc(), tiebreak.asc()]

    def after(self) -> sa.ColumnElement[bool]:
        """Rows strictly after the position bound as ``after_value`` and ``after_id`` (see
        ``position_parameters``) in this order."""
        value: sa.ColumnElement[Any]
        if self.field == "due_at":
            no_due_date = "'-infinity'::timestamptz" if self.descending else "'infinity'::timestamptz"
            value = sa.func.coalesce(
                sa.cast(sa.bindparam("after_value"), sa.DateTime(timezone=True)),
                sa.literal_column(no_due_date),
            )
        elif self.field == "priority":
            value = sa.bindparam("after_value", type_=sa.SmallInteger)
        elif self.field == "position":
            value = sa.bindparam("after_value", type_=sa.BigInteger)
        else:
            value = sa.cast(sa.bindparam("after_value"), sa.DateTime(timezone=True))
        row = sa.tuple_(self.expression(), TASKS.c.id)
        position_row = sa.tuple_(value, sa.bindparam("after_id", type_=TASKS.c.id.type))
        return row < position_row if self.descending else row > position_row

    @staticmethod
    def position_parameters(position: list[Any]) -> dict[str, Any]:
        """The parameters of ``after()`` for a position from ``position_of``."""
        value, task_id = position
        return {"after_value": value, "after_id": UUID(task_id)}

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


@lru_cache(maxsize=1024)
def page_statement(
    filters: FilterShape, order: TaskOrder, starts_after: bool, timeout_ms: int
) -> sa.Select[Any]:
    """The statement of a page of an owner's tasks, built once per shape.

    Building it and computing its cache key took ~0.2 ms of Python a listing (more than the
    query's round trip); a statement remembers its cache key, so only its parameters change from
    request to request: ``owner``, ``row_limit``, the filters' ``statement_inputs()`` and, past the
    first page, ``order.position_parameters(...)``.
    """
    query = sa.select(*TASK_COLUMNS).where(TASKS.c.user_id == _OWNER, *filters.conditions())
    if starts_after:
        query = query.where(order.after())
    query = query.order_by(*order.order_by()).limit(sa.bindparam("row_limit", type_=sa.Integer))
    return query.execution_options(**listing_limits(timeout_ms))
