"""Argon2id hashing in its own bounded pool, refusing work past capacity instead of queueing it.

Each Argon2id hash holds 64 MiB and a core for ~100 ms. Run on the shared request thread pool,
120 registrations at once took 2.5 GB and starved every other request. Here at most ``capacity``
hashes run at once on the whole host, whatever the number of workers: cores are shared by every
worker, so the slots are too (``HashingSlots``). A request that finds every slot taken gets
``PasswordHashingBusy`` (503 with Retry-After) at once. Callers hash with no database connection
or lock held.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from functools import cached_property
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from models.errors import PasswordHashingBusy


class HashingSlots:
    """``capacity`` slot files in ``folder``, each held by at most one hash on the host.

    A slot is an exclusive ``flock`` on its file, tried without waiting. Every process that uses
    the folder (every worker of one ``serve``: it lives in the data folder) shares the slots, and
    each attempt opens its own file description, so two threads of one process exclude each other
    too. The kernel releases the lock when the holder closes the file or dies, so a killed worker
    cannot leak a slot.
    """

    def __init__(self, folder: Path, capacity: int) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self._files = [folder / f"slot-{number}" for number in range(capacity)]
        self.capacity = capacity

    def take(self) -> int | None:
        """A descriptor that holds a free slot until ``give_back``, or None if all are taken."""
        for path in self._files:
            descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(descriptor)
                continue
            return descriptor
        return None

    @staticmethod
    def give_back(descriptor: int) -> None:
        os.close(descriptor)  # closing the only descriptor of the description releases the lock

    def any_free(self) -> bool:
        """Whether a slot was free just now (it may not be by the time anyone takes it)."""
        slot = self.take()
        if slot is None:
            return False
        self.give_back(slot)
        return True


class PasswordHashing:
    def __init__(self, hasher: PasswordHasher, slots: HashingSlots) -> None:
        self._hasher = hasher
        self._slots = slots
        # A process never holds more slots than exist, so the pool never queues.
        self._pool = ThreadPoolExecutor(max_workers=slots.capacity, thread_name_prefix="argon2")

    @contextmanager
    def reserved(self) -> Iterator[None]:
        """Hold one hashing slot for the block, or raise PasswordHashingBusy at once. Taken before
        the request's database work (never while a connection is held), so a refused request has
        recorded nothing."""
        slot = self._slots.take()
        if slot is None:
            raise PasswordHashingBusy
        try:
            yield
        finally:
            self._slots.give_back(slot)

    def has_free_slot(self) -> bool:
        return self._slots.any_free()

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
