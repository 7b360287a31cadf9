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
from sqlalchemy.engine.interfaces import ExecutionContext

STATEMENT_SETTINGS = "statement_settings"


def for_statement(**settings: int) -> dict[str, Any]:
    """Execution options that give a statement these settings (integers: nothing to quote)."""
    return {STATEMENT_SETTINGS: tuple((name, int(value)) for name, value in settings.items())}


def send_statement_settings(engine: sa.Engine) -> None:
    """Make ``engine`` honour the ``statement_settings`` execution option.

    The dialect's ``do_execute`` is wrapped rather than a ``before_cursor_execute`` listener
    added: any engine-level listener makes every connection join its events to the engine's and
    run them on each statement, checkout and commit, ~30 us of Python a request's connection
    (docs/performance.md, eighth pass; tests/test_database_connection.py::TestTheEngine keeps the
    engine without them).
    """
    do_execute = engine.dialect.do_execute

    def execute_with_settings(
        cursor: Any, statement: str, parameters: Any, context: ExecutionContext | None = None
    ) -> None:
        settings = context.execution_options.get(STATEMENT_SETTINGS) if context is not None else None
        if settings:
            statement = "".join(f"SET LOCAL {name} = {value}; " for name, value in settings) + statement
        do_execute(cursor, statement, parameters, context)

    engine.dialect.do_execute = execute_with_settings  # type: ignore[method-assign]
