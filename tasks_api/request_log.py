"""One log record and one set of metrics per request, taken at the outermost layer.

It sits outside CORS and Connexion's error handling, so every response is seen, errors and
preflights included. It reads what Connexion left in the ASGI scope (the operationId, the
verified token's subject) and the response's status and ``X-Request-ID``; it never reads headers
that carry secrets or any body, so no token, password or task can reach a log line.
"""

from __future__ import annotations

import logging
import time

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tasks_api.logging_config import PROBE_PATHS
from tasks_api.metrics import UNROUTED, Metrics
from tasks_api.openapi31 import request_context

logger = logging.getLogger("tasks_api.requests")


class RequestObserverMiddleware:
    def __init__(self, app: ASGIApp, *, metrics: Metrics, operation_ids: dict[str, str]) -> None:
        self._app = app
        self._metrics = metrics
        self._operation_ids = operation_ids  # Connexion's handler name -> the contract's operationId

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        started = time.perf_counter()
        routing, context = request_context(scope)
        status, request_id = 500, None  # what the client gets if nothing inside answers

        async def send_observed(message: Message) -> None:
            nonlocal status, request_id
            if message["type"] == "http.response.start":
                status = message["status"]
                request_id = Headers(raw=message.get("headers", [])).get("x-request-id")
            await send(message)

        self._metrics.in_flight.inc()
        try:
            await self._app(scope, receive, send_observed)
        finally:
            self._metrics.in_flight.dec()
            seconds = time.perf_counter() - started
            operation = self._operation_ids.get(routing.get("operation_id") or "", UNROUTED)
            subject = (context.get("token_info") or {}).get("sub")
            self._metrics.observe_request(operation, status, seconds)
            # Probes come every few seconds: counted, but only a failing one is logged.
            if scope["path"] not in PROBE_PATHS or status >= 400:
                client = scope.get("client")
                logger.info(
                    "%s %s %s %.1f ms",
                    scope["method"],
                    scope["path"],
                    status,
                    seconds * 1000,
                    extra={
                        "request_id": request_id,
                        "operation_id": operation,
                        "user_id": subject if isinstance(subject, str) else None,
                        "method": scope["method"],
                        "path": scope["path"],
                        "status": status,
                        "latency_ms": round(seconds * 1000, 1),
                        "client_addr": client[0] if client else None,
                    },
                )
