"""Per-user bounds that keep one tenant from taking the service from the others.

Each bound is enforced in PostgreSQL, inside the request's own transaction, so it holds across
every worker and machine without any of them sharing memory.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from models.errors import TooManyConcurrentListings


@dataclass(frozen=True)
class FairShare:
    tasks_per_user: int = 100_000
    idempotency_keys_per_day: int = 10_000
    # Lists and searches get less than the general statement timeout: they are what one tenant can
    # make expensive for everyone (a rare word over 500,000 tasks), and a fast answer that says so
    # beats holding a pooled connection.
    listing_timeout_ms: int = 2_000


DEFAULT_FAIR_SHARE = FairShare()


class ListingSlots:
    """At most ``per_user`` lists or searches of one user at a time in this worker process.

    Without it, one user's 60 concurrent searches held every pooled connection and everyone
    else's list waited seconds for one. The bound is per process on purpose: no worker needs
    another's memory, the whole service allows workers x ``per_user``, and a refused request
    costs no database connection at all.
    """

    def __init__(self, per_user: int) -> None:
        self._per_user = per_user
        self._running: Counter[str] = Counter()
        self._lock = threading.Lock()

    @contextmanager
    def hold(self, user_id: str) -> Iterator[None]:
        with self._lock:
            if self._running[user_id] >= self._per_user:
                raise TooManyConcurrentListings(self._per_user)
            self._running[user_id] += 1
        try:
            yield
        finally:
            with self._lock:
                self._running[user_id] -= 1
                if not self._running[user_id]:
                    del self._running[user_id]
