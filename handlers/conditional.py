"""Conditional requests (RFC 9110): If-Match and If-None-Match against a task's version."""

from __future__ import annotations

from connexion import request
from werkzeug.http import parse_etags

from models.task_repository import Precondition


def if_match() -> Precondition:
    """What ``If-Match`` demands of the task's version (None: no condition). Strong comparison,
    so a weak tag never matches; ``*`` matches any existing task."""
    header = request.headers.get("If-Match")
    if header is None:
        return None
    tags = parse_etags(header)
    return lambda version: tags.star_tag or tags.contains(str(version))


def none_match(version: int) -> bool:
    """Whether ``If-None-Match`` names this version (weak comparison, as RFC 9110 asks for GET)."""
    header = request.headers.get("If-None-Match")
    if header is None:
        return False
    tags = parse_etags(header)
    return tags.star_tag or tags.contains_weak(str(version))
