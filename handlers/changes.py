"""The change feed: what changed in a user's tasks and lists since a sync token."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from handlers.context import HandlerResult, json_result, owners_unit_of_work, services
from models.change import Change, ChangedEntity
from models.change_feed import FeedPosition
from models.concurrency import entity_tag
from models.task import TaskPublic, TaskStatus
from models.todo_list import TodoListPublic
from tasks_api.cursors import listing_digest


def _resource(change: Change) -> dict[str, Any]:
    """The row as the change wrote it, in the same representation the resource's own GET gives."""
    data = dict(change.data or {})
    data["etag"] = entity_tag(change.version)
    if change.entity == ChangedEntity.TASK:
        data["completed"] = data["status"] == TaskStatus.COMPLETED
        return TaskPublic.model_validate(data).model_dump(mode="json")
    return TodoListPublic.model_validate(data).model_dump(mode="json")


def _public(change: Change) -> dict[str, Any]:
    body: dict[str, Any] = {
        "entity": change.entity,
        "operation": change.operation,
        "id": str(change.entity_id),
        "version": change.version,
        "changed_at": change.changed_at.isoformat(),
    }
    if change.data is not None:
        body[change.entity] = _resource(change)
    return body


def list_changes(user_id: str, limit: int, since: str | None = None) -> HandlerResult:
    tokens = services().cursor_codec
    feed_of_user = listing_digest(user=user_id, resource="changes")
    retention = services().change_retention
    with owners_unit_of_work(user_id) as uow:
        feed = uow.changes(retention)
        changes: Sequence[Change] = []
        if since is None:
            # The default list, made (and committed) first if need be: the full sync that follows
            # the token then has it, and the feed does not deliver it a second time.
            uow.lists.default()
            uow.commit()
            position, has_more = feed.start(), False
        else:
            after = FeedPosition.from_json(tokens.decode(since, feed_of_user, parameter="since"))
            changes, position, has_more = feed.page(after, limit)
        items = [_public(change) for change in changes]
        uow.commit()  # expired changes purged on the way
    body = {
        "changes": items,
        "sync_token": tokens.encode(feed_of_user, position.to_json()),
        "has_more": has_more,
    }
    return json_result(body)
