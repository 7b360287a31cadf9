"""The one place where errors become RFC 9457 problem+json responses.

Domain errors (``models.errors``) know nothing about HTTP; the table below gives each its status
and problem type. Connexion's and Starlette's own HTTP errors are re-rendered with the same
catalogue, so every error a client sees has a stable ``type``, a ``detail`` and an ``instance``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import orjson
from connexion.exceptions import ProblemException
from connexion.lifecycle import ConnexionRequest, ConnexionResponse
from sqlalchemy.exc import DataError, DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException

from models.errors import (
    DefaultListUndeletable,
    DomainError,
    EmailAlreadyRegistered,
    IdempotencyKeyInFlight,
    IdempotencyKeyQuotaExceeded,
    IdempotencyKeyReused,
    IdentityProviderUnavailable,
    InvalidCredentials,
    InvalidCursor,
    InvalidInput,
    ListingTooSlow,
    ListNotFound,
    NoPasswordHere,
    NotTheOwner,
    PasswordHashingBusy,
    PreconditionFailed,
    RequestRateExceeded,
    SyncTokenExpired,
    TaskNotFound,
    TaskQuotaExceeded,
    TokenRevoked,
    TooManyConcurrentListings,
    TooManyRegistrations,
    TooManySignInFailures,
    WeakPassword,
    WrongCurrentPassword,
)
from tasks_api.database_outages import configuration_refusal, connection_refusal

logger = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
DATABASE_RETRY_AFTER_SECONDS = 5
IN_FLIGHT_RETRY_AFTER_SECONDS = 1  # a creation takes milliseconds; a second is ample
SLOW_LISTING_RETRY_AFTER_SECONDS = 5  # the same listing will be slow again: back off, not hammer
MAX_DETAIL, MAX_INSTANCE = 2000, 8192  # as the contract's Problem schema declares
INTERNAL_ERROR_DETAIL = "The server failed to handle the request; it has been logged."


@dataclass(frozen=True)
class ProblemKind:
    status: int
    slug: str
    title: str

    @property
    def type(self) -> str:
        return f"/problems/{self.slug}"


MALFORMED_REQUEST = ProblemKind(400, "malformed-request", "Malformed request")
VALIDATION_ERROR = ProblemKind(400, "validation-error", "Invalid request")
UNAUTHORIZED = ProblemKind(401, "unauthorized", "Unauthorized")
INVALID_CREDENTIALS = ProblemKind(401, "invalid-credentials", "Invalid credentials")
FORBIDDEN = ProblemKind(403, "forbidden", "Forbidden")
NOT_FOUND = ProblemKind(404, "not-found", "Not found")
METHOD_NOT_ALLOWED = ProblemKind(405, "method-not-allowed", "Method not allowed")
PAYLOAD_TOO_LARGE = ProblemKind(413, "payload-too-large", "Payload too large")
CONFLICT = ProblemKind(409, "conflict", "Conflict")
PRECONDITION_FAILED = ProblemKind(412, "precondition-failed", "Precondition failed")
IDEMPOTENCY_KEY_REUSED = ProblemKind(422, "idempotency-key-reused", "Idempotency key reused")
SYNC_TOKEN_EXPIRED = ProblemKind(410, "sync-token-expired", "Sync token expired")
UNSUPPORTED_MEDIA_TYPE = ProblemKind(415, "unsupported-media-type", "Unsupported media type")
TOO_MANY_REQUESTS = ProblemKind(429, "too-many-requests", "Too many requests")
RATE_LIMITED = ProblemKind(429, "rate-limited", "Request rate limit exceeded")
WRONG_PASSWORD = ProblemKind(403, "wrong-password", "Wrong password")
TASK_QUOTA_EXCEEDED = ProblemKind(403, "task-quota-exceeded", "Task quota exceeded")
IDEMPOTENCY_KEY_QUOTA_EXCEEDED = ProblemKind(
    429, "idempotency-key-quota-exceeded", "Idempotency key quota exceeded"
)
LISTING_TIMEOUT = ProblemKind(503, "listing-timeout", "Listing took too long")
TOO_MANY_CONCURRENT_LISTINGS = ProblemKind(
    429, "too-many-concurrent-listings", "Too many concurrent lists or searches"
)
INTERNAL_ERROR = ProblemKind(500, "internal-error", "Internal server error")
SERVICE_UNAVAILABLE = ProblemKind(503, "service-unavailable", "Service unavailable")

_KIND_BY_STATUS = {
    kind.status: kind
    for kind in (
        VALIDATION_ERROR,
        UNAUTHORIZED,
        FORBIDDEN,
        NOT_FOUND,
        METHOD_NOT_ALLOWED,
        PAYLOAD_TOO_LARGE,
        UNSUPPORTED_MEDIA_TYPE,
        INTERNAL_ERROR,
        SERVICE_UNAVAILABLE,
    )
}

_KIND_BY_DOMAIN_ERROR: dict[type[DomainError], ProblemKind] = {
    TaskNotFound: NOT_FOUND,
    ListNotFound: NOT_FOUND,
    DefaultListUndeletable: CONFLICT,
    SyncTokenExpired: SYNC_TOKEN_EXPIRED,
    InvalidInput: VALIDATION_ERROR,
    NotTheOwner: FORBIDDEN,
    EmailAlreadyRegistered: CONFLICT,
    InvalidCredentials: INVALID_CREDENTIALS,
    TooManySignInFailures: TOO_MANY_REQUESTS,
    TooManyRegistrations: TOO_MANY_REQUESTS,
    RequestRateExceeded: RATE_LIMITED,
    PasswordHashingBusy: SERVICE_UNAVAILABLE,
    IdentityProviderUnavailable: SERVICE_UNAVAILABLE,
    TokenRevoked: UNAUTHORIZED,
    WeakPassword: VALIDATION_ERROR,
    WrongCurrentPassword: WRONG_PASSWORD,
    NoPasswordHere: CONFLICT,
    PreconditionFailed: PRECONDITION_FAILED,
    InvalidCursor: VALIDATION_ERROR,
    IdempotencyKeyInFlight: CONFLICT,
    IdempotencyKeyReused: IDEMPOTENCY_KEY_REUSED,
    TaskQuotaExceeded: TASK_QUOTA_EXCEEDED,
    IdempotencyKeyQuotaExceeded: IDEMPOTENCY_KEY_QUOTA_EXCEEDED,
    ListingTooSlow: LISTING_TIMEOUT,
    TooManyConcurrentListings: TOO_MANY_CONCURRENT_LISTINGS,
}

# RFC 6750 section 3.1: what a 401 tells the client about the Bearer scheme. A request that sent
# no credentials gets the bare challenge; a refused token gets error="invalid_token".
_BEARER_REALM = 'Bearer realm="tasks-api"'


def _challenge(request: ConnexionRequest, detail: str) -> dict[str, str]:
    if "authorization" not in request.headers:
        return {"WWW-Authenticate": _BEARER_REALM}
    description = detail.replace('"', "'").replace("\\", "/")
    return {"WWW-Authenticate": f'{_BEARER_REALM}, error="invalid_token", error_description="{description}"'}


def _rate_limit_headers(error: RequestRateExceeded) -> dict[str, str]:
    """The IETF httpapi RateLimit header fields (draft-ietf-httpapi-ratelimit-headers)."""
    return {
        "RateLimit-Policy": f'"per-user";q={error.limit};w={error.window_seconds}',
        "RateLimit": f'"per-user";r=0;t={error.retry_after_seconds}',
    }


def problem_exception(
    kind: ProblemKind, detail: str, *, headers: dict[str, str] | None = None, **extensions: Any
) -> ProblemException:
    return ProblemException(
        status=kind.status,
        title=kind.title,
        detail=detail,
        type=kind.type,
        headers=headers,
        ext=extensions or None,
    )


def malformed_request(detail: str) -> ProblemException:
    return problem_exception(MALFORMED_REQUEST, detail)


def validation_problem(detail: str, errors: list[dict[str, str]]) -> ProblemException:
    return problem_exception(VALIDATION_ERROR, detail, errors=errors)


def payload_too_large(limit: int) -> ProblemException:
    # Connection: close makes the server stop reading the rest of the body instead of draining it.
    return problem_exception(
        PAYLOAD_TOO_LARGE, f"The body is over {limit} bytes.", headers={"Connection": "close"}
    )


def _response(
    request: ConnexionRequest,
    kind: ProblemKind,
    detail: str,
    *,
    headers: dict[str, str] | None = None,
    extensions: dict[str, Any] | None = None,
) -> ConnexionResponse:
    body = {
        "type": kind.type,
        "title": kind.title,
        "status": kind.status,
        "detail": detail if len(detail) <= MAX_DETAIL else detail[: MAX_DETAIL - 1] + "\u2026",
        "instance": quote(request.url.path)[:MAX_INSTANCE],  # a URI reference, so percent-encoded
        **(extensions or {}),
    }
    return ConnexionResponse(
        status_code=kind.status,
        mimetype=PROBLEM_JSON,
        content_type=PROBLEM_JSON,
        body=orjson.dumps(body),
        headers=headers or {},
    )


def render_problem_exception(request: ConnexionRequest, error: Exception) -> ConnexionResponse:
    """Connexion's problems (its own and ours): keep our kinds, name Connexion's by status."""
    assert isinstance(error, ProblemException)
    if error.type and error.type != "about:blank":
        kind = ProblemKind(error.status, error.type.removeprefix("/problems/"), error.title)
    else:
        kind = _KIND_BY_STATUS.get(error.status) or ProblemKind(
            error.status, "http-error", error.title or "Error"
        )
    detail = str(error.detail or kind.title)
    headers = dict(error.headers or {})
    if kind.status == 401:
        headers.update(_challenge(request, detail))
    if kind.status == 500:
        # Connexion's 500s (e.g. a response that breaks the contract) describe our internals.
        logger.error("%s on %s %s: %s", kind.title, request.method, request.url.path, detail)
        detail = INTERNAL_ERROR_DETAIL
    return _response(request, kind, detail, headers=headers, extensions=error.ext)


def http_exception_renderer(
    allowed_methods: Callable[[str], list[str]],
) -> Callable[[ConnexionRequest, Exception], ConnexionResponse]:
    """Starlette's routing errors: unknown path (404), known path with the wrong method (405).

    Connexion routes each operation separately, so Starlette's own ``Allow`` names only the
    first operation's method; the contract knows them all.
    """

    def render(request: ConnexionRequest, error: Exception) -> ConnexionResponse:
        assert isinstance(error, HTTPException)
        headers = dict(error.headers or {})
        if error.status_code == 405:
            headers["Allow"] = ", ".join(allowed_methods(request.url.path))
            detail = f"{request.method} is not allowed on {request.url.path}."
        elif error.status_code == 404:
            detail = f"Nothing is served at {request.url.path}."
        else:
            detail = str(error.detail)
        kind = _KIND_BY_STATUS.get(error.status_code) or ProblemKind(error.status_code, "http-error", "Error")
        return _response(request, kind, detail, headers=headers)

    return render


def problem_kind_for(error_type: type[DomainError]) -> ProblemKind | None:
    """The mapping of the most specific class in ``error_type``'s ancestry that has one (so a
    subclass of a mapped error is mapped like it), or None."""
    return next(
        (
            _KIND_BY_DOMAIN_ERROR[ancestor]
            for ancestor in error_type.__mro__
            if ancestor in _KIND_BY_DOMAIN_ERROR
        ),
        None,
    )


def render_domain_error(request: ConnexionRequest, error: Exception) -> ConnexionResponse:
    assert isinstance(error, DomainError)
    kind = problem_kind_for(type(error))
    if kind is None:
        # A domain error nobody mapped is our bug, not the client's: say so loudly.
        return render_unexpected_error(request, error)
    headers: dict[str, str] = {}
    retry_after = getattr(error, "retry_after_seconds", None)
    if isinstance(error, ListingTooSlow):
        retry_after = SLOW_LISTING_RETRY_AFTER_SECONDS
    elif isinstance(error, TooManyConcurrentListings | IdempotencyKeyInFlight):
        retry_after = IN_FLIGHT_RETRY_AFTER_SECONDS
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    if isinstance(error, RequestRateExceeded):
        headers.update(_rate_limit_headers(error))
    if isinstance(error, TokenRevoked):
        headers.update(_challenge(request, str(error)))
    elif kind.status == 401:
        headers["WWW-Authenticate"] = _BEARER_REALM
    errors = getattr(error, "errors", None)
    return _response(
        request, kind, str(error), headers=headers, extensions={"errors": errors} if errors else None
    )


def render_database_error(
    request: ConnexionRequest, error: Exception, *, on_unavailable: Callable[[], None] = lambda: None
) -> ConnexionResponse:
    if isinstance(error, DataError):
        # PostgreSQL refused a value the contract let through: the client's input, not our fault.
        logger.warning("database refused a value: %s", error.orig)
        return _response(request, VALIDATION_ERROR, "A value in the request cannot be stored.")
    if isinstance(error, OperationalError | PoolTimeoutError) or (
        isinstance(error, DBAPIError) and error.connection_invalidated
    ):
        # Lost or refused connections are not logged here: the engine's OutageLog writes one line
        # when an outage starts and one when it ends, not one per request. What is not an outage
        # is: an exhausted pool (overload) or a statement the server cancelled (its timeout).
        if isinstance(error, PoolTimeoutError):
            logger.warning("no database connection free in time: %s", error)
        elif (
            isinstance(error, DBAPIError) and error.statement is not None and not error.connection_invalidated
        ):
            logger.warning("database statement failed: %s", connection_refusal(error.orig))
        refusal = configuration_refusal(error.orig) if isinstance(error, DBAPIError) else None
        detail = (
            f"The service is misconfigured and cannot connect: {refusal}"
            if refusal
            else "The database is unavailable; try again shortly."
        )
        on_unavailable()
        return _response(
            request,
            SERVICE_UNAVAILABLE,
            detail,
            headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)},
        )
    return render_unexpected_error(request, error)


def render_unexpected_error(request: ConnexionRequest, error: Exception) -> ConnexionResponse:
    logger.error("unhandled error on %s %s", request.method, request.url.path, exc_info=error)
    return _response(request, INTERNAL_ERROR, INTERNAL_ERROR_DETAIL)
