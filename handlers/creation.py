"""Idempotent creation for every resource: ``Idempotency-Key`` replays the first response."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from handlers.context import HandlerResult, json_result, request_headers
from models.idempotency import StoredResponse, fingerprint
from models.timestamps import utc_now
from models.unit_of_work import UnitOfWork


def create_once(
    uow: UnitOfWork, body: dict[str, Any], create: Callable[[], StoredResponse], *, resource: str
) -> HandlerResult:
    """Run ``create`` and commit, unless the request's ``Idempotency-Key`` was seen before: then
    replay the stored response (same key, other body: 422; still running: 409).

    Keys are per user; ``resource`` goes into the fingerprint so that one key reused for another
    kind of resource is a different request, not a replay.
    """
    key, now = request_headers().get("Idempotency-Key"), utc_now()
    body_fingerprint = fingerprint(body) if resource == "task" else fingerprint([resource, body])
    replay = uow.idempotency_keys.claim(key, body_fingerprint, now) if key else None
    if replay is not None:
        return json_result(
            replay.body, replay.status_code, {**replay.headers, "Idempotency-Replayed": "true"}
        )
    created = create()
    if key:
        uow.idempotency_keys.remember(key, body_fingerprint, created, now)
    uow.commit()
    return json_result(created.body, created.status_code, created.headers)
