"""The app factory: ``create_app(settings)`` wires the contract, database, validation and errors."""

from __future__ import annotations

import copy
import gc
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from functools import partial
from typing import Any

import anyio.to_thread
from asgi_correlation_id import CorrelationIdMiddleware
from connexion import AsyncApp, ConnexionMiddleware
from connexion.exceptions import ProblemException
from connexion.middleware import MiddlewarePosition
from connexion.middleware.response_validation import ResponseValidationMiddleware
from connexion.middleware.swagger_ui import SwaggerUIMiddleware
from connexion.operations import AbstractOperation
from connexion.options import SwaggerUIOptions
from connexion.resolver import Resolver
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException

from models.errors import DomainError
from models.fair_share import ListingSlots
from tasks_api import problems
from tasks_api.admission import Renderer, admitted_first, refusals_first
from tasks_api.auth import TokenIssuer, TokenVerifier, password_hashing
from tasks_api.contract import HTTP_METHODS, Contract
from tasks_api.cors import ContractCORSMiddleware
from tasks_api.cursors import CursorCodec
from tasks_api.database import Database, resolve_database_url
from tasks_api.handler_threads import hand_off_through_the_executor, start_handler_threads
from tasks_api.hashing_shedding import PasswordHashingShedding
from tasks_api.http_edge import HTTP_LIMITS_STATE_KEY, HttpLimits
from tasks_api.json_responses import OrjsonJsonifier
from tasks_api.jwt_secret import resolve_jwt_secret
from tasks_api.metrics import Metrics
from tasks_api.openapi31 import accept_openapi_31, check_openapi_31, reuse_per_operation_work, validator_map
from tasks_api.paths import SPEC_PATH
from tasks_api.rate_refusals import RateRefusals
from tasks_api.request_log import RequestObserverMiddleware
from tasks_api.schema_migrations import head_revision
from tasks_api.security_headers import SecurityHeadersMiddleware
from tasks_api.services import SERVICES_STATE_KEY, Services
from tasks_api.settings import Settings

REQUEST_ID_HEADER = "X-Request-ID"


class SnakeCaseResolver(Resolver):  # type: ignore[misc]
    """``operationId: listTasks`` + ``x-openapi-router-controller: handlers.tasks`` ->
    ``handlers.tasks.list_tasks``: SDK-friendly ids, PEP 8 handler names, explicit mapping."""

    def resolve_operation_id(self, operation: AbstractOperation) -> str:
        return handler_name(operation.router_controller, operation.operation_id)

    def resolve_function_from_operation_id(self, operation_id: str) -> Callable[..., Any]:
        # Every handler, so none can run for a user who was not admitted.
        return admitted_first(super().resolve_function_from_operation_id(operation_id))


def handler_name(controller: str, operation_id: str) -> str:
    return f"{controller}.{re.sub(r'(?<!^)(?=[A-Z])', '_', operation_id).lower()}"


def operation_ids_by_handler(contract: Contract) -> dict[str, str]:
    """Connexion names a routed request by its handler; metrics and logs use the contract's id."""
    return {
        handler_name(operation["x-openapi-router-controller"], operation["operationId"]): operation[
            "operationId"
        ]
        for item in contract.document["paths"].values()
        for method, operation in item.items()
        if method in HTTP_METHODS
    }


# A client's X-Request-ID is echoed and logged only in this shape (a UUID fits): anything else,
# spaces and quotes included, could forge log lines, so it is replaced by a fresh id.
_SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def _acceptable_request_id(value: str) -> bool:
    return _SAFE_REQUEST_ID.fullmatch(value) is not None


def create_app(settings: Settings) -> AsyncApp:
    accept_openapi_31()
    reuse_per_operation_work()
    hand_off_through_the_executor()
    database = Database.for_url(resolve_database_url(settings), settings)
    contract = Contract.load(SPEC_PATH)
    secret = resolve_jwt_secret(settings)
    hashing = password_hashing(settings)
    metrics = Metrics()
    metrics.instrument_pool(database.engine, settings.db_pool_size + settings.db_max_overflow)
    services = Services(
        database=database,
        contract=contract,
        expected_migration=head_revision,
        token_verifier=TokenVerifier(settings, secret),
        token_issuer=TokenIssuer(
            secret,
            settings.jwt_issuer,
            settings.jwt_audience,
            timedelta(seconds=settings.access_token_ttl_seconds),
        ),
        password_hashing=hashing,
        cursor_codec=CursorCodec(secret),
        listing_slots=ListingSlots(settings.concurrent_listings_per_user),
        rate_refusals=RateRefusals(),
        metrics=metrics,
        metrics_token=settings.metrics_token,
        change_retention=timedelta(days=settings.change_retention_days),
    )

    @asynccontextmanager
    async def lifespan(_: ConnexionMiddleware) -> AsyncIterator[dict[str, Any]]:
        # Connexion runs sync handlers and renderers on the loop's executor
        # (tasks_api.handler_threads); what else runs on threads (a provider's token checked
        # against its key set) goes through anyio's default limiter. Both belong to this loop.
        handler_threads = start_handler_threads(settings.handler_threads)
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.handler_threads
        # Starlette copies this into every request's ``request.state``; uvicorn hands the same
        # dict to its protocols, where tasks_api.http_edge reads its limits.
        yield {SERVICES_STATE_KEY: services, HTTP_LIMITS_STATE_KEY: HttpLimits.from_settings(settings)}
        hashing.shutdown()
        handler_threads.shutdown(wait=False)
        database.engine.dispose()
        metrics.process_stopped()

    # Connexion's stack without layers that would only forward every request: the Swagger UI
    # router (the contract serves its own docs) and, when responses are not validated, the
    # response validator.
    middlewares = [
        layer
        for layer in ConnexionMiddleware.default_middlewares
        if layer is not SwaggerUIMiddleware
        and (settings.validate_responses or layer is not ResponseValidationMiddleware)
    ]
    app = AsyncApp(__name__, lifespan=lifespan, jsonifier=OrjsonJsonifier(), middlewares=middlewares)
    app.add_api(
        # The document already parsed, not the file: Connexion would parse its YAML again (with
        # the pure-Python loader, 1.2 s of every worker's start). A copy: Connexion keeps it.
        copy.deepcopy(contract.document),
        resolver=SnakeCaseResolver(),
        strict_validation=True,
        validate_responses=settings.validate_responses,
        validator_map=validator_map(settings.max_body_bytes),
        # The contract declares its own /openapi.json, /openapi.yaml and /docs.
        swagger_ui_options=SwaggerUIOptions(serve_spec=False, swagger_ui=False),
    )
    renderers: dict[type[Exception], Renderer] = {
        ProblemException: problems.render_problem_exception,
        HTTPException: problems.http_exception_renderer(contract.allowed_methods),
        DomainError: problems.render_domain_error,
        SQLAlchemyError: partial(
            problems.render_database_error, on_unavailable=metrics.count_database_unavailable
        ),
        Exception: problems.render_unexpected_error,
    }
    for kind, render in refusals_first(renderers).items():
        app.add_error_handler(kind, render)
    # Outermost first; all sit outside Connexion's error handling, so errors get the same treatment.
    app.add_middleware(
        RequestObserverMiddleware,
        MiddlewarePosition.BEFORE_EXCEPTION,
        metrics=metrics,
        operation_ids=operation_ids_by_handler(contract),
    )
    app.add_middleware(SecurityHeadersMiddleware, MiddlewarePosition.BEFORE_EXCEPTION)
    if settings.cors_origins:
        app.add_middleware(
            ContractCORSMiddleware,
            MiddlewarePosition.BEFORE_EXCEPTION,
            contract=contract,
            origins=settings.cors_origins,
        )
    app.add_middleware(
        CorrelationIdMiddleware,
        position=MiddlewarePosition.BEFORE_EXCEPTION,
        header_name=REQUEST_ID_HEADER,
        validator=_acceptable_request_id,
    )
    app.add_middleware(
        PasswordHashingShedding, MiddlewarePosition.BEFORE_EXCEPTION, contract=contract, hashing=hashing
    )
    return app


# The young generation is collected every 20,000 net allocations instead of 700: a request's
# objects die by reference counting, so a collection finds few survivors whenever it runs.
WORKER_GC_THRESHOLDS = (20_000, 20, 20)


def prepare_ahead() -> None:
    """What ``create_app`` does that needs no settings, done ahead: checking the contract (most of
    its 0.5 s). ``serve`` runs this while its start-up child starts the database (tasks_api/cli.py)."""
    check_openapi_31(Contract.load(SPEC_PATH).document)


def create_app_from_environment() -> AsyncApp:
    """For uvicorn's ``--factory`` (each worker process builds its own app)."""
    app = create_app(Settings())
    keep_garbage_collections_short()
    return app


def keep_garbage_collections_short() -> None:
    """Exclude what the worker has built so far (modules, the contract, validators, SQLAlchemy's
    metadata: some 130,000 objects that live as long as the process) from every later collection.

    A full collection walked them all, 90-160 ms during which no request in the worker moved: the
    tail of the latency under load (docs/performance.md). Frozen, it takes 14-21 ms.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*WORKER_GC_THRESHOLDS)
