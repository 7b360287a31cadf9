"""Admission's connection, lent to the request's unit of work.

An authenticated request runs admission (one autocommitted statement) and then its unit of work,
on the same worker thread. Each checked a connection out of the pool and back, and a checkout costs
more Python than a statement (SQLAlchemy's ``Connection``, the pool's bookkeeping and its events).
Inside ``lending()`` (``tasks_api.admission`` runs admission and the handler in it) admission
leaves its connection for the unit of work to take (``take``; ``models.unit_of_work`` makes it run
transactions again for a write); whatever is not taken goes back to the pool when the block ends.

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
    """Keep ``connection`` (autocommitted) for the request's unit of work. False outside
    ``lending()``: the caller closes it."""
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


def _close(lent: list[Connection]) -> None:
    while lent:
        lent.pop().close()
