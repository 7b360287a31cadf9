"""Argon2id hashing in its own bounded pool, refusing work past capacity instead of queueing it.

Each Argon2id hash holds 64 MiB and a core for ~100 ms. Run on the shared request thread pool,
120 registrations at once took 2.5 GB and starved every other request. Here at most
``capacity`` hashes run per worker process (the cores shared between the workers); a request that
finds every slot taken gets ``PasswordHashingBusy`` (503 with Retry-After) at once. Callers hash
with no database connection or lock held.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from functools import cached_property

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from models.errors import PasswordHashingBusy


class PasswordHashing:
    def __init__(self, hasher: PasswordHasher, capacity: int) -> None:
        self._hasher = hasher
        self._slots = threading.BoundedSemaphore(capacity)
        self._pool = ThreadPoolExecutor(max_workers=capacity, thread_name_prefix="argon2")
        self.capacity = capacity

    @contextmanager
    def reserved(self) -> Iterator[None]:
        """Hold one hashing slot for the block, or raise PasswordHashingBusy at once. Taken before
        the request's database work, so a refused request has recorded nothing."""
        if not self._slots.acquire(blocking=False):
            raise PasswordHashingBusy
        try:
            yield
        finally:
            self._slots.release()

    def hash(self, password: str) -> str:
        """Inside ``reserved()``: the pool has one thread per slot, so nothing queues."""
        return self._pool.submit(self._hasher.hash, password).result()

    def verify(self, password_hash: str | None, password: str) -> bool:
        """Inside ``reserved()``: whether ``password`` matches; with no hash, the same work against
        a decoy (so response times do not tell who has an account) and False."""
        return self._pool.submit(self._verify, password_hash, password).result()

    def needs_rehash(self, password_hash: str) -> bool:
        return self._hasher.check_needs_rehash(password_hash)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    @cached_property
    def _decoy_hash(self) -> str:
        return self._hasher.hash("decoy password, never anyone's")

    def _verify(self, password_hash: str | None, password: str) -> bool:
        if password_hash is None:
            with suppress(VerificationError):
                self._hasher.verify(self._decoy_hash, password)
            return False
        try:
            return self._hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False
