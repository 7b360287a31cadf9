"""Bearer tokens: issuing built-in ones, verifying every kind, admitting their users.

Two kinds of token are accepted, each with its algorithms pinned by configuration (never taken
from the token alone):

* HS256, signed with ``JWT_SECRET``, ``typ: at+jwt`` (RFC 9068), issuer ``JWT_ISSUER`` and audience
  ``JWT_AUDIENCE``: the built-in accounts' tokens. Their users are this service's issuer's; a
  token never makes a user;
* ``JWKS_ALGORITHMS`` (EdDSA by default, as Better Auth signs) from an identity provider, verified
  with its JWKS (the key set cached for ``JWKS_CACHE_SECONDS``, refetched when an unknown ``kid``
  appears) and its issuer and audience. A subject first seen becomes a user of that issuer.

Every token's lifetime (exp - iat) is capped. A verified token then goes through admission
(``models.user_admission``, run by ``tasks_api.admission``): one statement that finds its user,
refuses it if revoked, and counts the request against the user's rate.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio.to_thread
import jwt
from argon2 import PasswordHasher
from connexion.exceptions import OAuthProblem
from connexion.lifecycle import ConnexionRequest

from models.errors import IdentityProviderUnavailable
from models.timestamps import utc_now
from models.user import BUILT_IN_ISSUER, EMAIL_MAX_LENGTH, NAME_MAX_LENGTH
from models.user_admission import Identity
from tasks_api.admission import verified
from tasks_api.password_hashing import HashingSlots, PasswordHashing
from tasks_api.services import services_of
from tasks_api.settings import Settings
from tasks_api.verified_tokens import VerifiedTokens

logger = logging.getLogger(__name__)

BUILT_IN_ALGORITHM = "HS256"
ACCESS_TOKEN_TYPE = "at+jwt"  # RFC 9068: says what the token is for, so no other JWT passes as one


def password_hashing(settings: Settings) -> PasswordHashing:
    """Argon2id (argon2-cffi's defaults, RFC 9106's low-memory profile, unless tuned), at most
    ``settings.hash_concurrency`` at once on this host (every worker shares the slots)."""
    hasher = PasswordHasher(
        time_cost=settings.password_hash_time_cost, memory_cost=settings.password_hash_memory_kib
    )
    return PasswordHashing(hasher, HashingSlots(settings.password_hashing_dir, settings.hash_concurrency))


class TokenIssuer:
    def __init__(self, secret: str, issuer: str, audience: str, lifetime: timedelta) -> None:
        self._secret = secret
        self._issuer = issuer
        self._audience = audience
        self._lifetime = lifetime

    def issue(self, subject: str, *, valid_after: datetime | None = None) -> dict[str, Any]:
        """A token for ``subject``. ``valid_after``: the user's revocation instant; the token's
        ``iat`` (whole seconds) is put past it, so a token issued right after a sign-out works."""
        now = utc_now().replace(microsecond=0)
        issued_at = max(now, valid_after) if valid_after else now
        claims = {
            "sub": subject,
            "iat": issued_at,
            "nbf": now,
            "exp": now + self._lifetime,
            "iss": self._issuer,
            "aud": self._audience,
            "jti": secrets.token_urlsafe(16),
        }
        token = jwt.encode(
            claims, self._secret, algorithm=BUILT_IN_ALGORITHM, headers={"typ": ACCESS_TOKEN_TYPE}
        )
        return {
            "access_token": token,
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
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")
_EMAIL_SHAPE = re.compile(r"^[^@\s]+@[^@\s]+$")


class InvalidToken(Exception):
    """Why a token was refused, in words safe to show the client."""


def _provider_name(claims: Mapping[str, Any]) -> str | None:
    """The ``name`` claim as the users table can hold it: no control characters, clipped."""
    name = claims.get("name")
    if not isinstance(name, str):
        return None
    name = _CONTROL_CHARACTERS.sub(" ", name).strip()[:NAME_MAX_LENGTH].strip()
    return name or None


def _provider_email(claims: Mapping[str, Any]) -> str | None:
    """The ``email`` claim, only when the provider says it is verified (an unverified address
    must not take a real owner's email from them)."""
    email = claims.get("email")
    # OpenID Connect says email_verified; Better Auth's default payload (the user) says emailVerified.
    verified = claims.get("email_verified", claims.get("emailVerified"))
    if verified is not True or not isinstance(email, str):
        return None
    if len(email) > EMAIL_MAX_LENGTH or not _EMAIL_SHAPE.match(email) or _CONTROL_CHARACTERS.search(email):
        return None
    return email


class TokenVerifier:
    def __init__(self, settings: Settings, secret: str) -> None:
        self._secret = secret
        self._issuer = settings.jwt_issuer
        self._audience = settings.jwt_audience
        self._lifetime_cap = settings.token_lifetime_cap_seconds
        self._verified = VerifiedTokens(lifetime_seconds=settings.jwks_cache_seconds)
        provider = settings.identity_provider
        self._jwks: jwt.PyJWKClient | None = None
        if provider is not None:
            jwks_url, self._provider_issuer, self._provider_audience = provider
            # The key set (not each key) is cached, for a bounded time: PyJWT's per-key cache is an
            # LRU that never expires, so a key the provider removed would verify until restart.
            self._jwks = jwt.PyJWKClient(
                jwks_url,
                cache_keys=False,
                cache_jwk_set=True,
                lifespan=settings.jwks_cache_seconds,
                timeout=5,
                cooldown_duration=settings.jwks_refetch_cooldown_seconds,
            )
            self._provider_algorithms = settings.jwks_algorithms

    def verify_without_waiting(self, token: str) -> Identity | None:
        """``verify`` when it cannot block: a token verified before, or one no key set is needed
        for (HS256 is microseconds of CPU, less than a hop to a worker thread). None: call ``verify``
        off the event loop."""
        identity = self._verified.get(token)
        if identity is not None:
            return identity
        return None if self._may_need_key_set(token) else self._verify_and_remember(token)

    def _may_need_key_set(self, token: str) -> bool:
        if self._jwks is None:
            return False
        try:
            return jwt.get_unverified_header(token).get("alg") != BUILT_IN_ALGORITHM
        except jwt.PyJWTError:
            return False  # malformed: refused without any key

    def verify(self, token: str) -> Identity:
        """Who the token speaks for, or InvalidToken, or IdentityProviderUnavailable. May block
        (fetching a JWKS): call off the event loop unless ``verify_without_waiting`` said otherwise."""
        return self._verified.get(token) or self._verify_and_remember(token)

    def _verify_and_remember(self, token: str) -> Identity:
        identity, expires_at = self._verify_signature(token)
        self._verified.remember(token, identity, expires_at)
        return identity

    def _verify_signature(self, token: str) -> tuple[Identity, float]:
        try:
            header = jwt.get_unverified_header(token)
            algorithm = header.get("alg")
            if algorithm == BUILT_IN_ALGORITHM:
                if str(header.get("typ", "")).lower().removeprefix("application/") != ACCESS_TOKEN_TYPE:
                    raise InvalidToken("The token is not an access token (typ must be at+jwt).")
                claims = self._decode(token, self._secret, [BUILT_IN_ALGORITHM], self._issuer, self._audience)
                identity = Identity(BUILT_IN_ISSUER, claims["sub"], _issued_at(claims), may_create=False)
                return identity, claims["exp"]
            if self._jwks is not None and algorithm in self._provider_algorithms:
                key = self._jwks.get_signing_key_from_jwt(token)
                claims = self._decode(
                    token, key, self._provider_algorithms, self._provider_issuer, self._provider_audience
                )
                identity = Identity(
                    self._provider_issuer,
                    claims["sub"],
                    _issued_at(claims),
                    may_create=True,
                    email=_provider_email(claims),
                    name=_provider_name(claims),
                )
                return identity, claims["exp"]
        except jwt.MissingRequiredClaimError as error:
            raise InvalidToken(f"The token has no '{error.claim}' claim.") from None
        except jwt.PyJWKClientConnectionError as error:
            logger.warning("identity provider unreachable for a token's key: %s", error)
            raise IdentityProviderUnavailable from None
        except jwt.PyJWTError as error:
            reason = next(text for kind, text in _REFUSALS if isinstance(error, kind))
            raise InvalidToken(reason) from None
        raise InvalidToken("The token's algorithm is not accepted.")

    def _decode(
        self, token: str, key: Any, algorithms: list[str], issuer: str, audience: str
    ) -> dict[str, Any]:
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=algorithms,
            issuer=issuer,
            audience=audience,
            options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            leeway=30,
        )
        if not isinstance(claims["sub"], str) or not claims["sub"] or len(claims["sub"]) > 128:
            raise jwt.InvalidTokenError("sub")
        if claims["exp"] - claims["iat"] > self._lifetime_cap:
            raise InvalidToken(
                f"The token lives longer than the {self._lifetime_cap} s this service accepts."
            )
        return claims


def _issued_at(claims: Mapping[str, Any]) -> datetime:
    return datetime.fromtimestamp(int(claims["iat"]), UTC)


async def bearer_token_info(token: str, request: ConnexionRequest) -> Mapping[str, Any]:
    """Connexion's bearer check (``x-bearerInfoFunc`` in the contract).

    Runs on the event loop: a token seen before or a built-in one is verified here, a provider's
    new token (which may need its JWKS fetched) on a worker thread. A user this worker saw refused
    for their rate is refused again here, until the refusal's Retry-After passes. Everyone else is
    admitted (a database round trip) on the next worker thread the request reaches
    (``tasks_api.admission``). Every refusal of the token becomes a 401 problem, never a 500.
    """
    services = services_of(request.state)
    verifier = services.token_verifier
    try:
        identity = verifier.verify_without_waiting(token)
        if identity is None:
            identity = await anyio.to_thread.run_sync(verifier.verify, token)
        services.rate_refusals.refuse_if_remembered((identity.issuer, identity.subject))
        return verified(identity)
    except InvalidToken as error:
        raise OAuthProblem(detail=str(error)) from None
