"""Settings from the environment and ``.env`` (read by pydantic-settings through python-dotenv).

Built once by the CLI (or a test) and handed to ``create_app(settings)``; never a module global.
Every field is documented in ``.env.example``.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

MIN_JWT_SECRET_BYTES = 32


class ConfigurationError(Exception):
    """A setting is unusable; the message is one line, safe to print (no secrets)."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="TASKS_API_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    database_url: str | None = Field(
        default=None,
        validation_alias="DATABASE_URL",
        description="PostgreSQL URL (postgres:// or postgresql://) requests are served over; may be a "
        "transaction-mode pooler such as Neon's -pooler host. Unset: embedded PostgreSQL.",
    )
    database_url_unpooled: str | None = Field(
        default=None,
        validation_alias="DATABASE_URL_UNPOOLED",
        description="Direct (unpooled) URL for what needs a session: migrations and their lock, role "
        "settings. Neon's name for it (Prisma's directUrl). Unset: DATABASE_URL.",
    )
    data_dir: Path = Field(
        default=Path(".tasks-api"),
        description="Folder for local state: the embedded PostgreSQL's data lives in postgres/.",
    )
    migrate_on_start: bool = Field(
        default=True, description="`serve` upgrades the schema to head before it listens."
    )
    validate_responses: bool = Field(
        default=False, description="Check every response body against the contract (tests turn it on)."
    )
    max_body_bytes: int = Field(default=1024 * 1024, gt=0, description="Largest request body; over it, 413.")
    http_max_url_bytes: int = Field(default=8192, ge=256, description="Longest request target; over it, 414.")
    http_max_header_bytes: int = Field(
        default=16 * 1024,
        ge=1024,
        description="Largest header block (names, values, separators); over it, 431.",
    )
    http_header_timeout_seconds: float = Field(
        default=10,
        gt=0,
        description="A request head must arrive within this; else 408 and the connection closes.",
    )
    http_body_timeout_seconds: float = Field(
        default=30,
        gt=0,
        description="A request body must arrive within this after its head; else the connection closes.",
    )
    http_keep_alive_timeout_seconds: int = Field(
        default=5, ge=1, description="An idle keep-alive connection is closed after this."
    )
    handler_threads: int = Field(
        default=40,  # anyio's default, which Connexion used before tasks_api.handler_threads
        ge=1,
        description="Requests one worker process runs on threads at once (handlers, admission); the "
        "rest wait on its event loop. Fewer contend less for the GIL (6 served 12-18% more of the "
        "bench's mix than 40 on 2 cores in one session, not in the next) but queue everyone behind "
        "one user's requests (issue 9's fair-sharing p99 187 -> 298 ms): lower it only for uniform "
        "traffic (docs/performance.md).",
    )
    # Kept connections, no overflow: SQLAlchemy closes an overflow connection as soon as it is
    # returned, so a pool that overflows under steady load opens a PostgreSQL backend every few
    # requests (5 + 5 cost 2.4 ms more PostgreSQL CPU per request than 10 + 0: docs/performance.md).
    db_pool_size: int = Field(default=10, ge=1)
    db_max_overflow: int = Field(default=0, ge=0)
    db_pool_recycle_seconds: int = Field(
        default=240, ge=1, description="Below Neon's 5-minute idle cut-off, so no pooled connection is stale."
    )
    db_connect_timeout_seconds: int = Field(default=5, ge=1)
    db_statement_timeout_ms: int = Field(default=10_000, ge=0, description="0 disables the limit.")
    listing_statement_timeout_ms: int = Field(
        default=2_000,
        ge=1,
        description="Time limit of a list or search query; past it, 503 with Retry-After.",
    )
    concurrent_listings_per_user: int = Field(
        default=4,
        ge=1,
        description="Lists or searches one user may run at once, per worker process; past it, 429.",
    )
    tasks_per_user: int = Field(default=100_000, ge=1, description="Most tasks one user may keep.")
    idempotency_keys_per_day: int = Field(
        default=10_000, ge=1, description="Most Idempotency-Keys one user may use in 24 hours."
    )
    jwt_secret: str | None = Field(
        default=None,
        validation_alias="JWT_SECRET",
        description="HS256 key (>= 32 bytes) for built-in tokens. Unset with the embedded database: "
        "generated once and kept in the data folder.",
    )
    jwt_issuer: str = Field(default="tasks-api", validation_alias="JWT_ISSUER")
    jwt_audience: str = Field(default="tasks-api", validation_alias="JWT_AUDIENCE")
    access_token_ttl_seconds: int = Field(default=3600, ge=60, le=86400)
    better_auth_url: str | None = Field(
        default=None,
        validation_alias="BETTER_AUTH_URL",
        description="A Better Auth server: its JWKS, issuer and audience follow from it.",
    )
    jwks_url: str | None = Field(default=None, validation_alias="JWKS_URL")
    jwks_issuer: str | None = Field(default=None, validation_alias="JWKS_ISSUER")
    jwks_audience: str | None = Field(default=None, validation_alias="JWKS_AUDIENCE")
    jwks_algorithms: Annotated[list[str], NoDecode] = Field(
        default=["EdDSA"], validation_alias="JWKS_ALGORITHMS"
    )
    password_hash_time_cost: int = Field(default=3, ge=1, description="Argon2id passes.")
    password_hash_memory_kib: int = Field(default=65536, ge=8, description="Argon2id memory, KiB.")
    jwks_refetch_cooldown_seconds: float = Field(
        default=30,
        ge=0,
        validation_alias="JWKS_REFETCH_COOLDOWN_SECONDS",
        description="Least time between JWKS fetches forced by unknown key ids (so forged kids cannot "
        "flood the provider); a rotated key may wait this long.",
    )
    jwks_cache_seconds: int = Field(
        default=300,
        ge=1,
        validation_alias="JWKS_CACHE_SECONDS",
        description="How long a fetched key set is trusted: a key removed from the JWKS stops verifying "
        "within this time.",
    )
    token_lifetime_cap_seconds: int = Field(
        default=86400,
        ge=60,
        description="Longest lifetime (exp - iat) accepted from any token, built-in or provider.",
    )
    sign_in_failures_per_account: int = Field(
        default=5, ge=1, description="Failures per (account, address) in the window before that pair waits."
    )
    sign_in_failures_per_address: int = Field(default=20, ge=1)
    sign_in_failure_window_seconds: int = Field(default=900, ge=1)
    sign_in_failures_per_account_per_hour: int = Field(
        default=50,
        ge=1,
        description="Failures on one account from all addresses in an hour past which every address "
        "that already failed on it waits (an address with no failure on it still gets in).",
    )
    registrations_per_address_per_hour: int = Field(default=10, ge=1)
    registrations_per_minute: int = Field(default=120, ge=1, description="All addresses together.")
    password_hash_concurrency: int | None = Field(
        default=None,
        ge=1,
        description="Password hashes computed at once on the host, by all workers together (they "
        "share slots in the data folder); past it, 503 at once. Unset: all cores but one (at least one).",
    )
    requests_per_user_per_minute: int = Field(
        default=600, ge=1, description="Authenticated requests per user per minute, across all workers."
    )
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default=[],
        description="Addresses of reverse proxies whose X-Forwarded-For is believed (comma-separated IPs "
        "or networks). Empty: the TCP peer is the client and forwarding headers are ignored.",
    )
    change_retention_days: int = Field(
        default=30,
        ge=1,
        le=3650,
        description="How long the change feed keeps changes (deletions included); an older sync "
        "token gets 410 and the client syncs from scratch.",
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    workers: int = Field(default=1, ge=1)
    log_level: str = "info"
    log_format: Literal["plain", "json"] = Field(
        default="plain",
        description="plain for a terminal; json: one JSON object per line for a log pipeline.",
    )
    metrics_token: str | None = Field(
        default=None,
        min_length=32,
        description="Bearer token a scraper sends to GET /metrics (>= 32 characters). Unset: /metrics "
        "refuses everyone.",
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default=[],
        description="Browser origins allowed to call the API (comma-separated, exact, e.g. "
        "https://app.example.com). Empty: no CORS headers at all.",
    )

    @model_validator(mode="after")
    def _threads_for_more_than_one_user(self) -> Settings:
        if self.handler_threads <= self.concurrent_listings_per_user:
            raise ValueError(
                f"TASKS_API_HANDLER_THREADS ({self.handler_threads}) must be above "
                f"TASKS_API_CONCURRENT_LISTINGS_PER_USER ({self.concurrent_listings_per_user}): one "
                "user's lists and searches could otherwise hold every thread of a worker"
            )
        return self

    @field_validator("jwt_secret")
    @classmethod
    def _strong_enough(cls, secret: str | None) -> str | None:
        if not secret:  # `JWT_SECRET=` in a .env file means unset
            return None
        if len(secret.encode()) < MIN_JWT_SECRET_BYTES:
            raise ValueError(f"JWT_SECRET must be at least {MIN_JWT_SECRET_BYTES} bytes")
        return secret

    @field_validator("trusted_proxies", "cors_origins", mode="before")
    @classmethod
    def _comma_separated_list(cls, value: object) -> object:
        return (
            [part.strip() for part in value.split(",") if part.strip()] if isinstance(value, str) else value
        )

    @field_validator("trusted_proxies")
    @classmethod
    def _addresses_or_networks(cls, proxies: list[str]) -> list[str]:
        for proxy in proxies:
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError:
                raise ValueError(
                    f"TASKS_API_TRUSTED_PROXIES: {proxy!r} is not an IP address or network"
                ) from None
        return proxies

    @field_validator("cors_origins")
    @classmethod
    def _exact_origins(cls, origins: list[str]) -> list[str]:
        for origin in origins:
            parts = urlsplit(origin)
            if (
                parts.scheme not in {"http", "https"}
                or not parts.hostname
                or origin.rstrip("/") != (f"{parts.scheme}://{parts.netloc}")
            ):
                raise ValueError(
                    f"TASKS_API_CORS_ORIGINS: {origin!r} is not an origin like https://host[:port]"
                )
        return [origin.rstrip("/") for origin in origins]

    @field_validator("jwks_algorithms", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        return (
            [part.strip() for part in value.split(",") if part.strip()] if isinstance(value, str) else value
        )

    @field_validator("jwks_algorithms")
    @classmethod
    def _asymmetric_only(cls, algorithms: list[str]) -> list[str]:
        allowed = {"EdDSA", "RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "ES512"}
        if not algorithms or not set(algorithms) <= allowed:
            raise ValueError(f"JWKS_ALGORITHMS must be some of {sorted(allowed)}")
        return algorithms

    @property
    def hash_concurrency(self) -> int:
        """Argon2 hashes at once on the host, all workers together: all cores but one (at least
        one), so hashing leaves a core to serve everything else (each hash holds 64 MiB and a core
        while it runs). A per-worker share let 2 workers on 2 cores hash on both cores at once."""
        if self.password_hash_concurrency is not None:
            return self.password_hash_concurrency
        return max(1, (os.cpu_count() or 1) - 1)

    @property
    def password_hashing_dir(self) -> Path:
        """The host-wide hashing slots (tasks_api/password_hashing.py): one folder per data folder,
        so every worker of one ``serve`` shares them."""
        return (self.data_dir / "password-hashing").resolve()

    @property
    def embedded_postgres_dir(self) -> Path:
        return (self.data_dir / "postgres").resolve()

    @property
    def jwt_secret_file(self) -> Path:
        return (self.data_dir / "jwt-secret").resolve()

    @property
    def identity_provider(self) -> tuple[str, str, str] | None:
        """(JWKS URL, issuer, audience) of the external identity provider, if one is configured."""
        base = self.better_auth_url.rstrip("/") if self.better_auth_url else None
        jwks_url = self.jwks_url or (f"{base}/api/auth/jwks" if base else None)
        issuer = self.jwks_issuer or base
        audience = self.jwks_audience or base
        if jwks_url is None:
            return None
        if issuer is None or audience is None:
            raise ConfigurationError("JWKS_URL needs JWKS_ISSUER and JWKS_AUDIENCE (or set BETTER_AUTH_URL)")
        return jwks_url, issuer, audience
