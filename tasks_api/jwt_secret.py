"""The built-in tokens' signing secret: ``JWT_SECRET``, or one kept in the embedded database's
data folder. A module of its own, so that ``serve``'s start-up child resolves it without importing
the token and request stack (``tasks_api.auth``: Connexion, the models; ~1 s of its start)."""

from __future__ import annotations

import logging
import os
import secrets

from tasks_api.settings import ConfigurationError, Settings

logger = logging.getLogger(__name__)


def resolve_jwt_secret(settings: Settings) -> str:
    """``JWT_SECRET``; with the embedded database and none set, one generated once and kept in
    the data folder (so restarts keep everyone signed in)."""
    if settings.jwt_secret:
        return settings.jwt_secret
    if settings.database_url:
        raise ConfigurationError(
            "JWT_SECRET is not set: with an external DATABASE_URL, set JWT_SECRET to a random "
            'string of at least 32 bytes (e.g. python -c "import secrets; print(secrets.token_urlsafe(48))")'
        )
    path = settings.jwt_secret_file
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(secrets.token_urlsafe(48))
        logger.info("Generated a JWT signing secret in %s", path)
    return path.read_text().strip()
