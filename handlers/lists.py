"""Task list operations: contract-valid input in, (body, status, headers) out."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote
from uuid import UUID

from starlette.responses import Response

from handlers.conditional import if_match, not_modified
from handlers.context import HandlerResult, json_result, no_content, owners_unit_of_work
from handlers.creation import create_once
from handlers.paging import Listing
from models.concurrency import entity_tag
from models.idempotency import StoredResponse
from models.input import parse_input
from models.todo_list import TodoList, TodoListCreate, TodoListPublic, TodoListUpdate


def _public(todo_list: TodoList) -> dict[str, Any]:
    return TodoListPublic.of(todo_list).model_dump(mode="json")


def _list_result(todo_list: TodoList) -> HandlerResult:
    return json_result(_public(todo_list), 200, {"ETag": entity_tag(todo_list.version)})


def list_lists(user_id: str, limit: int, cursor: str | None = None) -> HandlerResult:
    listing = Listing(user=user_id, resource="lists")
    after = listing.start_after(cursor)
    with owners_unit_of_work(user_id) as uow:
        lists, next_position = uow.lists.page(limit, after)
        items = [_public(todo_list) for todo_list in lists]
        uow.commit()  # the default list, made on first sight
    return listing.page(items, next_position)


def create_list(user_id: str, body: dict[str, Any]) -> HandlerResult:
    data = parse_input(TodoListCreate, body)
    with owners_unit_of_work(user_id) as uow:

        def create() -> StoredResponse:
            todo_list = uow.lists.add(data)
            location = f"/api/{quote(user_id, safe='')}/lists/{todo_list.id}"
            headers = {"Location": location, "ETag": entity_tag(todo_list.version)}
            return StoredResponse(201, _public(todo_list), headers)

        return create_once(uow, body, create, resource="list")


def get_list(user_id: str, list_id: str) -> HandlerResult | Response:
    with owners_unit_of_work(user_id, read_only=True) as uow:
        todo_list = uow.lists.get(UUID(list_id))
        return not_modified(todo_list.version) or _list_result(todo_list)


def update_list(user_id: str, list_id: str, body: dict[str, Any]) -> HandlerResult:
    patch = parse_input(TodoListUpdate, body)
    with owners_unit_of_work(user_id) as uow:
        todo_list = uow.lists.update(UUID(list_id), patch, if_match())
        uow.commit()
    return _list_result(todo_list)


def delete_list(user_id: str, list_id: str) -> Response:
    with owners_unit_of_work(user_id) as uow:
        uow.lists.delete(UUID(list_id), if_match())
        uow.commit()
    return no_content()
