"""Admission's connection, lent to the request's read.

An authenticated request runs admission (one autocommitted statement) and then, for a read of
tasks (a page, one task), one more autocommitted statement, on the same worker thread. Each
checked a connection out of the pool and back, and a checkout costs more Python than the statement
it serves (SQLAlchemy's ``Connection``, the pool's bookkeeping and its events). Inside
``lending()`` (``tasks_api.admission`` runs admission and the handler in it) admission leaves its
connection for the read to take (``take``); whatever is not taken goes back to the pool when the
block ends. A write gives it back first (``give_back``): its session checks out a connection of its
own for its transaction, and a request never holds two.

The lent connection lives in a context variable, so it belongs to one request: the worker thread
runs each request in a context of its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from sqlalchemy import Connection

_LENT: ContextVar[list[Connection] | None] = ContextVar("tasks_api_lent_connection", default=None)


@contextmanager
def lending() -> Iterator[None]:
    """A block in which ``lend`` keeps a connection for ``take``; what is left is closed at its end."""
    lent: list[Connection] = []
    token = _LENT.set(lent)
    try:
        yield
    finally:
        _LENT.reset(token)
        _close(lent)


def lend(connection: Connection) -> bool:
    """Keep ``connection`` (autocommitted) for the request's read. False outside ``lending()``: the
    caller closes it."""
    lent = _LENT.get()
    if lent is None:
        return False
    _close(lent)
    lent.append(connection)
    return True


def take() -> Connection | None:
    """The lent connection, now the caller's to close; None if there is none."""
    lent = _LENT.get()
    return lent.pop() if lent else None


def give_back() -> None:
    """Close the lent connection, if any (back to the pool)."""
    lent = _LENT.get()
    if lent:
        _close(lent)


def _close(lent: list[Connection]) -> None:
    while lent:
        lent.pop().close()
