"""Task operations: contract-valid input in, (body, status, headers) out."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote
from uuid import UUID

from connexion import request
from starlette.responses import Response

from handlers.conditional import if_match, none_match
from handlers.context import HandlerResult, json_result, no_content, owners_unit_of_work, services
from models.idempotency import StoredResponse, fingerprint
from models.input import parse_input
from models.task import Task, TaskCreate, TaskPublic, TaskUpdate, entity_tag
from models.task_query import TaskFilters, TaskOrder
from models.timestamps import utc_now
from tasks_api.cursors import listing_digest


def _public(task: Task, user_id: str) -> dict[str, Any]:
    return TaskPublic.of(task, user_id=user_id).model_dump(mode="json")


def _task_result(task: Task, user_id: str) -> HandlerResult:
    return json_result(_public(task, user_id), 200, {"ETag": entity_tag(task.version)})


def list_tasks(
    user_id: str, limit: int, sort: str, cursor: str | None = None, **filters: Any
) -> HandlerResult:
    parsed = parse_input(TaskFilters, filters)
    listing = listing_digest(
        user=user_id, sort=sort, filters=parsed.model_dump(mode="json", exclude_none=True)
    )
    cursors = services().cursor_codec
    after = cursors.decode(cursor, listing) if cursor else None
    with owners_unit_of_work(user_id) as uow, services().listing_slots.hold(user_id):
        tasks, next_position = uow.tasks.page(parsed, TaskOrder.parse(sort), limit, after)
        items = [_public(task, user_id) for task in tasks]
    next_cursor = cursors.encode(listing, next_position) if next_position else None
    headers = {}
    if next_cursor:
        next_url = request.url.include_query_params(cursor=next_cursor)
        headers["Link"] = f'<{next_url.path}?{next_url.query}>; rel="next"'
    return json_result({"items": items, "next_cursor": next_cursor}, headers=headers)


def create_task(user_id: str, body: dict[str, Any]) -> HandlerResult:
    data = parse_input(TaskCreate, body)
    key, body_fingerprint, now = request.headers.get("Idempotency-Key"), fingerprint(body), utc_now()
    with owners_unit_of_work(user_id) as uow:
        replay = uow.idempotency_keys.claim(key, body_fingerprint, now) if key else None
        if replay is not None:
            return json_result(
                replay.body, replay.status_code, {**replay.headers, "Idempotency-Replayed": "true"}
            )
        task = uow.tasks.add(data)
        headers = {
            "Location": f"/api/{quote(user_id, safe='')}/tasks/{task.id}",
            "ETag": entity_tag(task.version),
        }
        created = StoredResponse(201, _public(task, user_id), headers)
        if key:
            uow.idempotency_keys.remember(key, body_fingerprint, created, now)
        uow.commit()
    return json_result(created.body, created.status_code, created.headers)


def get_task(user_id: str, task_id: str) -> HandlerResult | Response:
    with owners_unit_of_work(user_id) as uow:
        task = uow.tasks.get(UUID(task_id))
        if none_match(task.version):
            return Response(status_code=304, headers={"ETag": entity_tag(task.version)})
        return _task_result(task, user_id)


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
