"""Task operations: contract-valid input in, (body, status, headers) out."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote
from uuid import UUID

from starlette.responses import Response

from handlers.context import HandlerResult, json_result, no_content, unit_of_work
from models.input import parse_input
from models.task import Task, TaskCreate, TaskPublic, TaskUpdate


def _public(task: Task) -> dict[str, Any]:
    return TaskPublic.of(task).model_dump(mode="json")


def list_tasks(user_id: str) -> HandlerResult:
    with unit_of_work(user_id) as uow:
        items = [_public(task) for task in uow.tasks.list()]
    return json_result({"items": items, "next_cursor": None})


def create_task(user_id: str, body: dict[str, Any]) -> HandlerResult:
    data = parse_input(TaskCreate, body)
    with unit_of_work(user_id) as uow:
        task = uow.tasks.add(data)
        uow.commit()
    location = f"/api/{quote(user_id, safe='')}/tasks/{task.id}"
    return json_result(_public(task), 201, {"Location": location})


def get_task(user_id: str, task_id: str) -> HandlerResult:
    with unit_of_work(user_id) as uow:
        return json_result(_public(uow.tasks.get(UUID(task_id))))


def replace_task(user_id: str, task_id: str, body: dict[str, Any]) -> HandlerResult:
    data = parse_input(TaskCreate, body)
    with unit_of_work(user_id) as uow:
        task = uow.tasks.replace(UUID(task_id), data)
        uow.commit()
    return json_result(_public(task))


def update_task(user_id: str, task_id: str, body: dict[str, Any]) -> HandlerResult:
    patch = parse_input(TaskUpdate, body)
    with unit_of_work(user_id) as uow:
        task = uow.tasks.update(UUID(task_id), patch)
        uow.commit()
    return json_result(_public(task))


def toggle_task_completion(user_id: str, task_id: str) -> HandlerResult:
    with unit_of_work(user_id) as uow:
        task = uow.tasks.toggle_completion(UUID(task_id))
        uow.commit()
    return json_result(_public(task))


def delete_task(user_id: str, task_id: str) -> Response:
    with unit_of_work(user_id) as uow:
        uow.tasks.delete(UUID(task_id))
        uow.commit()
    return no_content()
