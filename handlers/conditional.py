"""Conditional requests (RFC 9110): If-Match and If-None-Match against any resource's version."""

from __future__ import annotations

from starlette.responses import Response
from werkzeug.http import parse_etags

from handlers.context import request_headers
from models.concurrency import Precondition, VersionPrecondition, entity_tag

_VERSION_DIGITS = 10  # 2**31 - 1, the largest version, has 10 digits


def if_match() -> Precondition:
    """What ``If-Match`` demands of the resource's version (None: no condition). Strong
    comparison, so a weak tag never matches; ``*`` matches any existing resource."""
    header = request_headers().get("If-Match")
    if header is None:
        return None
    tags = parse_etags(header)
    if tags.star_tag:
        return VersionPrecondition(any_version=True)
    return VersionPrecondition(versions=frozenset(_versions(tags.as_set(include_weak=False))))


def _versions(tags: set[str]) -> list[int]:
    """The versions these strong tags name: only a tag that is exactly a version's text ("3", not
    "03"), as comparing the strings would; a tag longer than any version names none."""
    return [
        int(tag)
        for tag in tags
        if tag.isascii() and tag.isdigit() and len(tag) <= _VERSION_DIGITS and str(int(tag)) == tag
    ]


def none_match(version: int) -> bool:
    """Whether ``If-None-Match`` names this version (weak comparison, as RFC 9110 asks for GET)."""
    header = request_headers().get("If-None-Match")
    if header is None:
        return False
    tags = parse_etags(header)
    return tags.star_tag or tags.contains_weak(str(version))


def not_modified(version: int) -> Response | None:
    """A 304 when ``If-None-Match`` names this version, else None (answer as usual)."""
    if none_match(version):
        return Response(status_code=304, headers={"ETag": entity_tag(version)})
    return None
