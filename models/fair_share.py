"""Per-user bounds that keep one tenant from taking the service from the others.

Each bound is enforced in PostgreSQL, inside the request's own transaction, so it holds across
every worker and machine without any of them sharing memory.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FairShare:
    tasks_per_user: int = 100_000
    idempotency_keys_per_day: int = 10_000
    # Lists and searches get less than the general statement timeout: they are what one tenant can
    # make expensive for everyone (a rare word over 500,000 tasks), and a fast answer that says so
    # beats holding a pooled connection.
    listing_timeout_ms: int = 2_000


DEFAULT_FAIR_SHARE = FairShare()
