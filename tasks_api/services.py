"""What every request may use, built once per worker by ``create_app``: one frozen, typed object.

Starlette hands the lifespan's state to every request as ``request.state``; ``services_of`` is the
one typed way back to it, so nothing is looked up by a string name and cast.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

import connexion.context

if TYPE_CHECKING:  # the modules below import this one (through their request handling)
    from models.fair_share import ListingSlots
    from tasks_api.auth import TokenIssuer, TokenVerifier
    from tasks_api.contract import Contract
    from tasks_api.cursors import CursorCodec
    from tasks_api.database import Database
    from tasks_api.metrics import Metrics
    from tasks_api.password_hashing import PasswordHashing
    from tasks_api.rate_refusals import RateRefusals

SERVICES_STATE_KEY = "services"


@dataclass(frozen=True)
class Services:
    database: Database
    contract: Contract
    # Called on /ready, not at start-up: it reads the migration files (without Alembic, which
    # workers never import; tasks_api.schema_migrations.head_revision, cached once read).
    expected_migration: Callable[[], str | None]
    token_verifier: TokenVerifier
    token_issuer: TokenIssuer
    password_hashing: PasswordHashing
    cursor_codec: CursorCodec
    listing_slots: ListingSlots
    rate_refusals: RateRefusals
    metrics: Metrics
    metrics_token: str | None  # the scraper's bearer token; None: /metrics refuses everyone
    change_retention: timedelta


def services_of(request_state: object) -> Services:
    return _provided(getattr(request_state, SERVICES_STATE_KEY))


def current_services() -> Services:
    """The services of the app serving the current request, from its ASGI scope.

    ``connexion.request.state`` says the same, but every attribute read through ``connexion.request``
    builds a new request object (Connexion's and Starlette's): several per request, for one dict.
    """
    return _provided(connexion.context.scope["state"].get(SERVICES_STATE_KEY))


def _provided(services: object) -> Services:
    if not isinstance(services, Services):
        raise TypeError("the app's lifespan did not provide its Services")
    return services
