"""Bearer tokens: issuing built-in ones, verifying every kind, and the signing secret.

Two kinds of token are accepted, each with its algorithms pinned by configuration (never taken
from the token alone):

* HS256, signed with ``JWT_SECRET``, issuer ``JWT_ISSUER`` and audience ``JWT_AUDIENCE``: the
  built-in accounts' tokens, or a deployment's own tokens minted with the same secret;
* ``JWKS_ALGORITHMS`` (EdDSA by default, as Better Auth signs) from an identity provider, verified
  with its JWKS (keys cached, refetched when an unknown ``kid`` appears) and its issuer and audience.
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import anyio.to_thread
import jwt
from argon2 import PasswordHasher
from connexion.exceptions import OAuthProblem
from connexion.lifecycle import ConnexionRequest

from models.timestamps import utc_now
from tasks_api.services import services_of
from tasks_api.settings import ConfigurationError, Settings

logger = logging.getLogger(__name__)

BUILT_IN_ALGORITHM = "HS256"
JWKS_CACHE_SECONDS = 300


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


def password_hasher(settings: Settings) -> PasswordHasher:
    """Argon2id (argon2-cffi's defaults, RFC 9106's low-memory profile, unless tuned)."""
    return PasswordHasher(
        time_cost=settings.password_hash_time_cost, memory_cost=settings.password_hash_memory_kib
    )


class TokenIssuer:
    def __init__(self, secret: str, issuer: str, audience: str, lifetime: timedelta) -> None:
        self._secret = secret
        self._issuer = issuer
        self._audience = audience
        self._lifetime = lifetime

    def issue(self, subject: str) -> dict[str, Any]:
        now = utc_now()
        claims = {
            "sub": subject,
            "iat": now,
            "nbf": now,
            "exp": now + self._lifetime,
            "iss": self._issuer,
            "aud": self._audience,
            "jti": secrets.token_urlsafe(16),
        }
        return {
            "access_token": jwt.encode(claims, self._secret, algorithm=BUILT_IN_ALGORITHM),
            "token_type": "Bearer",
            "expires_in": int(self._lifetime.total_seconds()),
        }


# Why PyJWT refused a token, in words for the client; most specific first, the catch-all last.
_REFUSALS: list[tuple[type[jwt.PyJWTError], str]] = [
    (jwt.ExpiredSignatureError, "The token has expired."),
    (jwt.ImmatureSignatureError, "The token is not valid yet."),
    (jwt.InvalidIssuerError, "The token is from another issuer."),
    (jwt.InvalidAudienceError, "The token is for another audience."),
    (jwt.InvalidSignatureError, "The token's signature does not verify."),
    (jwt.PyJWKClientError, "The token's signing key is unknown."),
    (jwt.PyJWTError, "The token is malformed."),
]


class InvalidToken(Exception):
    """Why a token was refused, in words safe to show the client."""


class TokenVerifier:
    def __init__(self, settings: Settings, secret: str) -> None:
        self._secret = secret
        self._issuer = settings.jwt_issuer
        self._audience = settings.jwt_audience
        provider = settings.identity_provider
        self._jwks: jwt.PyJWKClient | None = None
        if provider is not None:
            jwks_url, self._provider_issuer, self._provider_audience = provider
            self._jwks = jwt.PyJWKClient(
                jwks_url,
                cache_keys=True,
                lifespan=JWKS_CACHE_SECONDS,
                timeout=5,
                cooldown_duration=settings.jwks_refetch_cooldown_seconds,
            )
            self._provider_algorithms = settings.jwks_algorithms

    def verify(self, token: str) -> dict[str, Any]:
        """The token's claims, or InvalidToken. Blocking (may fetch a JWKS): call off the loop."""
        try:
            algorithm = jwt.get_unverified_header(token).get("alg")
            if algorithm == BUILT_IN_ALGORITHM:
                return self._decode(token, self._secret, [BUILT_IN_ALGORITHM], self._issuer, self._audience)
            if self._jwks is not None and algorithm in self._provider_algorithms:
                key = self._jwks.get_signing_key_from_jwt(token)
                return self._decode(
                    token, key, self._provider_algorithms, self._provider_issuer, self._provider_audience
                )
        except jwt.MissingRequiredClaimError as error:
            raise InvalidToken(f"The token has no '{error.claim}' claim.") from None
        except jwt.PyJWTError as error:
            reason = next(text for kind, text in _REFUSALS if isinstance(error, kind))
            raise InvalidToken(reason) from None
        raise InvalidToken("The token's algorithm is not accepted.")

    @staticmethod
    def _decode(token: str, key: Any, algorithms: list[str], issuer: str, audience: str) -> dict[str, Any]:
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=algorithms,
            issuer=issuer,
            audience=audience,
            options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            leeway=30,
        )
        if not isinstance(claims["sub"], str) or not claims["sub"]:
            raise jwt.InvalidTokenError("sub")
        return claims


async def bearer_token_info(token: str, request: ConnexionRequest) -> Mapping[str, Any]:
    """Connexion's bearer check (``x-bearerInfoFunc`` in the contract).

    Runs on the event loop, so verification (which may fetch a JWKS) goes to a worker thread; every
    refusal becomes a 401 problem, never a 500.
    """
    verifier = services_of(request.state).token_verifier
    try:
        return await anyio.to_thread.run_sync(verifier.verify, token)
    except InvalidToken as error:
        raise OAuthProblem(detail=str(error)) from None
