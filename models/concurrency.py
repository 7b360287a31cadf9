"""Optimistic concurrency shared by every versioned resource: entity tags and If-Match checks.

Every resource row carries a ``version`` that goes up by one on each change; its strong entity tag
(RFC 9110) is that number in quotes, so a tag never needs to be stored.
"""

from __future__ import annotations

from collections.abc import Callable

from models.errors import PreconditionFailed

# Whether a change may go ahead, given the resource's current version (If-Match, in HTTP terms).
Precondition = Callable[[int], bool] | None


def entity_tag(version: int) -> str:
    """A strong entity tag (RFC 9110) for a resource version."""
    return f'"{version}"'


def check_precondition(precondition: Precondition, version: int) -> None:
    """Raise PreconditionFailed unless ``precondition`` accepts ``version``. Call it with the row
    locked, so that of two writers sending the same version exactly one gets through."""
    if precondition is not None and not precondition(version):
        raise PreconditionFailed
