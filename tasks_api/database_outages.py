"""A database outage in the log: one line when it starts, one when it ends, with a count.

Without this, every request that hits a dead database writes its own ERROR line (hundreds in a
10 s outage), burying the two facts an operator needs: when it started and when it ended.
The engine's ``handle_error`` event reports failures to connect or lost connections; the first
statement that succeeds afterwards ends the outage. Each worker process keeps its own record.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine, ExceptionContext
from sqlalchemy.engine.interfaces import ExecutionContext

logger = logging.getLogger("tasks_api.database")


def connection_refusal(error: BaseException | None) -> str | None:
    """The server's own words when it refused or dropped the connection (no host, no password)."""
    if error is None:
        return None
    lines = [line.strip() for line in str(error).strip().splitlines() if line.strip()]
    if not lines:
        return type(error).__name__
    # libpq: 'connection to server at "h", port 5432 failed: FATAL:  the reason'
    first = lines[0]
    for marker in ("FATAL:", "ERROR:", "failed:"):
        if marker in first:
            first = first.rsplit(marker, 1)[1].strip() or first
            break
    return first


# Refusals that no retry will cure: the URL, the credentials or the server's setup are wrong.
_CONFIGURATION_REFUSALS = (
    "unsupported startup parameter",
    "password authentication failed",
    "no pg_hba.conf entry",
    "does not exist",
    "no such user",
    "not allowed to connect",
    "permission denied for database",
    "server does not support ssl",
    "ssl is not enabled",
    "certificate",
    "endpoint",  # Neon: "Endpoint ID is not specified", "The endpoint ... is disabled"
    "invalid connection option",
    "invalid sslmode",
)


def configuration_refusal(error: BaseException | None) -> str | None:
    """The reason, when connecting failed because of configuration rather than a passing outage.

    ``error`` is the driver's exception (``DBAPIError.orig``)."""
    reason = connection_refusal(error)
    if reason is None:
        return None
    lowered = reason.lower()
    return reason if any(marker in lowered for marker in _CONFIGURATION_REFUSALS) else None


class OutageLog:
    """Counts failed database calls between the first failure and the next success."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._started: float | None = None
        self._failures = 0

    @property
    def in_outage(self) -> bool:
        return self._started is not None

    def failed(self, error: BaseException) -> None:
        with self._lock:
            self._failures += 1
            if self._started is not None:
                return
            self._started = time.monotonic()
        logger.error(
            "database unavailable: %s (further failures are counted, not logged, until it answers)",
            connection_refusal(error),
        )

    def succeeded(self) -> None:
        if self._started is None:  # the hot path: one attribute read per statement
            return
        with self._lock:
            if self._started is None:
                return
            lasted, failures = time.monotonic() - self._started, self._failures
            self._started, self._failures = None, 0
        logger.warning(
            "database available again after %.1f s; %d database calls failed meanwhile", lasted, failures
        )

    def watch(self, engine: Engine) -> None:
        # handle_error is the dialect's event. A statement's success is seen by wrapping the
        # dialect's do_execute, not through after_cursor_execute: an engine-level listener costs
        # every connection its events (models.statement_settings.send_statement_settings).
        event.listen(engine, "handle_error", self._on_error)
        do_execute = engine.dialect.do_execute

        def execute_noting_success(
            cursor: Any, statement: str, parameters: Any, context: ExecutionContext | None = None
        ) -> None:
            do_execute(cursor, statement, parameters, context)
            self.succeeded()

        engine.dialect.do_execute = execute_noting_success  # type: ignore[method-assign]

    def _on_error(self, context: ExceptionContext) -> None:
        # A failed connect has no connection; a lost one is a disconnect. A statement error (a
        # constraint, a timeout) on a live connection is no outage.
        if context.is_disconnect or context.connection is None:
            self.failed(context.original_exception)
