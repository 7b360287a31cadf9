"""Optimistic concurrency shared by every versioned resource: entity tags and If-Match checks.

Every resource row carries a ``version`` that goes up by one on each change; its strong entity tag
(RFC 9110) is that number in quotes, so a tag never needs to be stored.
"""

from __future__ import annotations

from dataclasses import dataclass

from models.errors import PreconditionFailed

# A version column is an integer: a larger tag names no version.
_LARGEST_VERSION = 2**31 - 1


@dataclass(frozen=True)
class VersionPrecondition:
    """What a change demands of the resource's current version (If-Match, in HTTP terms): that it
    exists (``*``), or that its version is one of ``versions`` (possibly none).

    A value, not a callable, so that a single ``UPDATE ... WHERE`` can carry it to PostgreSQL.
    """

    any_version: bool = False
    versions: frozenset[int] = frozenset()

    def accepts(self, version: int) -> bool:
        return self.any_version or version in self.versions

    def versions_to_match(self) -> list[int] | None:
        """The versions a change may find, for a SQL condition; None for ``*`` (no condition)."""
        if self.any_version:
            return None
        return sorted(version for version in self.versions if 0 <= version <= _LARGEST_VERSION)


# None: the request set no condition.
Precondition = VersionPrecondition | None


def entity_tag(version: int) -> str:
    """A strong entity tag (RFC 9110) for a resource version."""
    return f'"{version}"'


def check_precondition(precondition: Precondition, version: int) -> None:
    """Raise PreconditionFailed unless ``precondition`` accepts ``version``. Call it with the row
    locked, so that of two writers sending the same version exactly one gets through."""
    if precondition is not None and not precondition.accepts(version):
        raise PreconditionFailed
