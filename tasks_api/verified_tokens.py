"""Tokens this worker has already verified, so a client's next request skips the signature check.

Only the verification is remembered, never the admission: every request still goes through
``models.user_admission`` (revocation, rate), so signing out or deleting an account takes effect at
once on every worker. An entry lives until its token expires, and at most ``lifetime_seconds``
(the JWKS cache lifetime), so a key removed from the provider's key set stops verifying its tokens
within the time the key set itself is trusted.
"""

from __future__ import annotations

import threading
import time

from cachetools import TLRUCache

from models.user_admission import Identity

# Enough for every client of a busy worker; an entry is a token and its identity (under 2 KiB).
DEFAULT_CAPACITY = 4096


class VerifiedTokens:
    def __init__(self, lifetime_seconds: float, capacity: int = DEFAULT_CAPACITY) -> None:
        self._lifetime = lifetime_seconds
        self._entries: TLRUCache[str, tuple[Identity, float]] = TLRUCache(
            maxsize=capacity, ttu=self._use_until, timer=time.time
        )
        # Provider tokens are verified on a worker thread, built-in ones on the event loop.
        self._lock = threading.Lock()

    def _use_until(self, _token: str, entry: tuple[Identity, float], now: float) -> float:
        return min(entry[1], now + self._lifetime)

    def get(self, token: str) -> Identity | None:
        with self._lock:
            entry = self._entries.get(token)
        return None if entry is None else entry[0]

    def remember(self, token: str, identity: Identity, expires_at: float) -> None:
        with self._lock:
            self._entries[token] = (identity, expires_at)
