"""Settings from the environment and ``.env`` (read by pydantic-settings through python-dotenv).

Built once by the CLI (or a test) and handed to ``create_app(settings)``; never a module global.
Every field is documented in ``.env.example``.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="TASKS_API_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    database_url: str | None = Field(
        default=None,
        validation_alias="DATABASE_URL",
        description="PostgreSQL URL (postgres:// or postgresql://). Unset: embedded PostgreSQL.",
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
    db_pool_size: int = Field(default=5, ge=1)
    db_max_overflow: int = Field(default=5, ge=0)
    db_pool_recycle_seconds: int = Field(
        default=240, ge=1, description="Below Neon's 5-minute idle cut-off, so no pooled connection is stale."
    )
    db_connect_timeout_seconds: int = Field(default=5, ge=1)
    db_statement_timeout_ms: int = Field(default=10_000, ge=0, description="0 disables the limit.")
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    workers: int = Field(default=1, ge=1)
    log_level: str = "info"

    @property
    def embedded_postgres_dir(self) -> Path:
        return (self.data_dir / "postgres").resolve()
