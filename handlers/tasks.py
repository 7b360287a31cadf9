"""Task operations: contract-valid input in, (body, status, headers) out."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote
from uuid import UUID

from starlette.responses import Response

from handlers.conditional import if_match, not_modified
from handlers.context import HandlerResult, json_result, no_content, owners_unit_of_work, services
from handlers.creation import create_once
from handlers.paging import Listing
from models.concurrency import entity_tag
from models.idempotency import StoredResponse
from models.input import parse_input
from models.task import Task, TaskCreate, TaskUpdate
from models.task_query import TaskFilters, TaskOrder
from models.task_rows import TaskRow, task_json, task_version


def _task_result(task: TaskRow | Task, user_id: str) -> HandlerResult:
    body = task_json(task, user_id)
    return json_result(body, 200, {"ETag": body["etag"]})


def list_tasks(
    user_id: str, limit: int, sort: str, cursor: str | None = None, **filters: Any
) -> HandlerResult:
    parsed = parse_input(TaskFilters, filters)
    listing = Listing(user=user_id, sort=sort, filters=parsed.model_dump(mode="json", exclude_none=True))
    after = listing.start_after(cursor)
    with owners_unit_of_work(user_id, read_only=True) as uow, services().listing_slots.hold(user_id):
        tasks, next_position = uow.tasks.page(parsed, TaskOrder.parse(sort), limit, after)
    items = [task_json(task, user_id) for task in tasks]
    return listing.page(items, next_position)


def create_task(user_id: str, body: dict[str, Any]) -> HandlerResult:
    data = parse_input(TaskCreate, body)
    with owners_unit_of_work(user_id) as uow:

        def create() -> StoredResponse:
            task = uow.tasks.add(data)
            location = f"/api/{quote(user_id, safe='')}/tasks/{task.id}"
            return StoredResponse(
                201, task_json(task, user_id), {"Location": location, "ETag": entity_tag(task.version)}
            )

        return create_once(uow, body, create, resource="task")


def get_task(user_id: str, task_id: str) -> HandlerResult | Response:
    with owners_unit_of_work(user_id, read_only=True) as uow:
        task = uow.tasks.get(UUID(task_id))
    return not_modified(task_version(task)) or _task_result(task, user_id)


def replace_task(user_id: str, task_id: str, body: dict[str, Any]) -> HandlerResult:
    data = parse_input(TaskCreate, body)
    with owners_unit_of_work(user_id) as uow:
        task = uow.tasks.replace(UUID(task_id), data, if_match())
        uow.commit()
    return _task_result(task, user_id)


def update_task(user_id: str, task_id: str, body: dict[str, Any]) -> HandlerResult:
    patch = parse_input(TaskUpdate, body)
    with owners_unit_of_work(user_id) as uow:
        task = uow.tasks.update(UUID(task_id), patch, if_match())
        uow.commit()
    return _task_result(task, user_id)


def toggle_task_completion(user_id: str, task_id: str) -> HandlerResult:
    with owners_unit_of_work(user_id) as uow:
        task = uow.tasks.toggle_completion(UUID(task_id), if_match())
        uow.commit()
    return _task_result(task, user_id)


def delete_task(user_id: str, task_id: str) -> Response:
    with owners_unit_of_work(user_id) as uow:
        uow.tasks.delete(UUID(task_id), if_match())
        uow.commit()
    return no_content()


def move_task(user_id: str, task_id: str, body: dict[str, Any]) -> HandlerResult:
    after, list_id = body["after"], body.get("list_id")
    with owners_unit_of_work(user_id) as uow:
        task = uow.tasks.move(
            UUID(task_id),
            UUID(after) if after else None,
            UUID(list_id) if list_id else None,
            if_match(),
        )
        uow.commit()
    return _task_result(task, user_id)
