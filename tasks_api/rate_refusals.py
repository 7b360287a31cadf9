"""Users this worker has seen refused for their rate, until the refusal's ``Retry-After`` passes.

The shared counter in PostgreSQL decides (``models.user_admission``); this only remembers its "no".
A user past the limit stays past it until the window the counter started ends, so refusing here
without asking again gives the same answer without the round trip (and without a pooled connection
or a worker thread). That is what keeps a client that ignores 429s from costing the others: each
of its refused requests now stops before the database. Nothing here is needed by another worker:
each asks PostgreSQL once per window and remembers for itself.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

from cachetools import TLRUCache

from models.errors import RequestRateExceeded

DEFAULT_CAPACITY = 4096

UserKey = tuple[str, str]  # (issuer, subject)


class RateRefusals:
    def __init__(self, capacity: int = DEFAULT_CAPACITY, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._refusals: TLRUCache[UserKey, tuple[RequestRateExceeded, float]] = TLRUCache(
            maxsize=capacity, ttu=lambda _user, refusal, _now: refusal[1], timer=clock
        )
        self._lock = threading.Lock()

    def remember(self, user: UserKey, refusal: RequestRateExceeded) -> None:
        with self._lock:
            self._refusals[user] = (refusal, self._clock() + refusal.retry_after_seconds)

    def refuse_if_remembered(self, user: UserKey) -> None:
        """Raise the remembered refusal again, with the time left to wait, if it still holds."""
        with self._lock:
            entry = self._refusals.get(user)
        if entry is None:
            return
        refusal, until = entry
        raise RequestRateExceeded(
            limit=refusal.limit,
            window_seconds=refusal.window_seconds,
            retry_after_seconds=max(1, math.ceil(until - self._clock())),
        )
