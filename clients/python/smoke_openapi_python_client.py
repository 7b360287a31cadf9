"""Smoke test of the SDK that openapi-python-client generates from the contract with its defaults.

One client team's day: register, get a token, create a task, list a page, merge-patch it with
If-Match, retry with the stale ETag (a typed Problem comes back), toggle it, delete it. It runs
against the live service and against the Prism mock (``--mock``), so the mock stays faithful:
the flow and the types are the same; only what the mock cannot remember (a changed priority,
a deleted task) is checked against the service alone.

    PYTHONPATH=build/sdks/openapi-python-client uv run python \\
        clients/python/smoke_openapi_python_client.py http://127.0.0.1:8000 [--mock]
"""

from __future__ import annotations

import argparse
import uuid
from typing import TypeVar

from tasks_api_client import AuthenticatedClient, Client
from tasks_api_client.api.accounts import create_token, register_user
from tasks_api_client.api.tasks import (
    create_task,
    delete_task,
    get_task,
    list_tasks,
    toggle_task_completion,
    update_task,
)
from tasks_api_client.models import (
    AccessToken,
    Credentials,
    Problem,
    Task,
    TaskCreate,
    TaskList,
    TaskMergePatch,
    TaskPriority,
    User,
    UserRegistration,
)

# Prism answers an error only when asked for it (RFC 7240 Prefer); the service ignores Prefer and
# answers 412 because the ETag is stale.
ASK_THE_MOCK_FOR_412 = {"Prefer": "code=412"}
Expected = TypeVar("Expected")


def expect(value: object, kind: type[Expected]) -> Expected:
    """The SDK returns the union of every declared body; the flow knows which one it should be."""
    if not isinstance(value, kind):
        raise AssertionError(f"expected {kind.__name__}, got {value!r}")
    return value


def smoke(base_url: str, *, mock: bool) -> None:
    email, password = f"smoke-{uuid.uuid4().hex[:12]}@example.com", "correct horse battery"
    with Client(base_url=base_url) as anonymous:
        registration = UserRegistration(email=email, name="Smoke", password=password)
        user = expect(register_user.sync(client=anonymous, body=registration), User)
        credentials = Credentials(email=email, password=password)
        token = expect(create_token.sync(client=anonymous, body=credentials), AccessToken)

    with AuthenticatedClient(base_url=base_url, token=token.access_token) as api:
        new_task = TaskCreate(title="Buy milk", priority=TaskPriority.NORMAL)
        created = create_task.sync(user.id, client=api, body=new_task, idempotency_key=str(uuid.uuid4()))
        task = expect(created, Task)

        page = expect(list_tasks.sync(user.id, client=api, limit=10), TaskList)
        assert task.id in [listed.id for listed in page.items], page

        patch = TaskMergePatch(priority=TaskPriority.HIGH)
        updated = expect(update_task.sync(user.id, task.id, client=api, body=patch, if_match=task.etag), Task)
        # A client of its own: with_headers() would also change the open client's headers.
        with AuthenticatedClient(base_url, token.access_token, headers=ASK_THE_MOCK_FOR_412) as asking:
            stale_attempt = update_task.sync(user.id, task.id, client=asking, body=patch, if_match=task.etag)
        stale = expect(stale_attempt, Problem)
        assert (stale.status, stale.type_) == (412, "/problems/precondition-failed"), stale

        toggled = expect(
            toggle_task_completion.sync(user.id, task.id, client=api, if_match=updated.etag), Task
        )
        assert toggled.completed, toggled
        deleted = delete_task.sync_detailed(user.id, task.id, client=api, if_match=toggled.etag)
        assert deleted.status_code == 204, deleted

        if not mock:
            assert (updated.priority, updated.etag != task.etag) == (TaskPriority.HIGH, True), updated
            gone = expect(get_task.sync(user.id, task.id, client=api), Problem)
            assert (gone.status, gone.type_) == (404, "/problems/not-found"), gone


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base_url")
    parser.add_argument("--mock", action="store_true", help="the server is the Prism mock")
    arguments = parser.parse_args()
    smoke(arguments.base_url, mock=arguments.mock)
    print(f"openapi-python-client SDK: every step passed against {arguments.base_url}")


if __name__ == "__main__":
    main()
