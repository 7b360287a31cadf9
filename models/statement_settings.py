"""Settings for one statement alone, sent in the statement's own round trip.

A statement run with the execution option ``statement_settings`` (see ``for_statement``) goes to
PostgreSQL as ``SET LOCAL name = value; ...; <statement>`` in one simple query. PostgreSQL runs a
multi-statement query as one implicit transaction, so the settings apply to that statement and end
with it, outside any transaction block too (reads run autocommitted): no ``BEGIN``, no ``SET``
round trip, nothing left for the next user of a pooled connection (or of a transaction-mode
pooler's server connection). Admission's ``SET LOCAL synchronous_commit`` travels the same way.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine.interfaces import ExecutionContext

STATEMENT_SETTINGS = "statement_settings"


def for_statement(**settings: int) -> dict[str, Any]:
    """Execution options that give a statement these settings (integers: nothing to quote)."""
    return {STATEMENT_SETTINGS: tuple((name, int(value)) for name, value in settings.items())}


def _prefix_settings(
    _conn: sa.Connection,
    _cursor: Any,
    statement: str,
    parameters: Any,
    context: ExecutionContext | None,
    _executemany: bool,
) -> tuple[str, Any]:
    settings = context.execution_options.get(STATEMENT_SETTINGS) if context is not None else None
    if settings:
        statement = "".join(f"SET LOCAL {name} = {value}; " for name, value in settings) + statement
    return statement, parameters


def send_statement_settings(engine: sa.Engine) -> None:
    """Make ``engine`` honour the ``statement_settings`` execution option."""
    event.listen(engine, "before_cursor_execute", _prefix_settings, retval=True)
