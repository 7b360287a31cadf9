"""The Python SDK that client teams generate from the contract works against the live service.

The client is generated here, from openapi/tasks-api.yaml, with openapi-python-client's default
settings (no configuration file, as a client team would) and `--fail-on-warning` (so a contract
the generator cannot fully understand fails this test), and then drives a real uvicorn. The other
generators run in .ci/sdk-matrix (clients/README.md).
"""

from __future__ import annotations

import importlib
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tasks_api.paths import SPEC_PATH

GENERATOR = str(Path(sys.executable).parent / "openapi-python-client")


@pytest.fixture(scope="module")
def sdk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    output = tmp_path_factory.mktemp("sdk") / "python-client"
    command = [GENERATOR, "generate", "--path", str(SPEC_PATH), "--fail-on-warning"]
    command += ["--output-path", str(output), "--overwrite"]
    generated = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert generated.returncode == 0, generated.stdout + generated.stderr
    sys.path.insert(0, str(output))
    try:
        modules = {
            name: importlib.import_module(f"tasks_api_client{path}")
            for name, path in [
                ("client", ""),
                ("models", ".models"),
                ("types", ".types"),
                *[
                    (operation, f".api.accounts.{operation}")
                    for operation in ("register_user", "create_token")
                ],
                *[
                    (operation, f".api.tasks.{operation}")
                    for operation in (
                        "create_task",
                        "list_tasks",
                        "get_task",
                        "update_task",
                        "toggle_task_completion",
                        "delete_task",
                    )
                ],
                ("create_list", ".api.lists.create_list"),
                ("list_changes", ".api.sync.list_changes"),
            ]
        }
        yield SimpleNamespace(**modules)
    finally:
        sys.path.remove(str(output))
        for name in [module for module in sys.modules if module.startswith("tasks_api_client")]:
            del sys.modules[name]


def test_a_client_team_can_do_everything_through_the_generated_sdk(
    sdk: SimpleNamespace, live_server: str, database_url: Any
) -> None:
    with sdk.client.Client(base_url=live_server) as anonymous:
        _drive(sdk, anonymous, live_server)


def _drive(sdk: SimpleNamespace, anonymous: Any, live_server: str) -> None:
    models = sdk.models
    email, password = f"sdk-{uuid.uuid4().hex[:8]}@example.com", "correct horse battery"

    user = sdk.register_user.sync(
        client=anonymous, body=models.UserRegistration(email=email, name="SDK", password=password)
    )
    token = sdk.create_token.sync(client=anonymous, body=models.Credentials(email=email, password=password))
    with sdk.client.AuthenticatedClient(base_url=live_server, token=token.access_token) as api:
        _drive_tasks(sdk, api, user)
        _drive_a_sync_loop(sdk, api, user)


def _drive_tasks(sdk: SimpleNamespace, api: Any, user: Any) -> None:
    models = sdk.models

    created = [
        sdk.create_task.sync(
            user.id, client=api, body=models.TaskCreate(title=f"task {n}"), idempotency_key=str(uuid.uuid4())
        )
        for n in range(3)
    ]
    assert all(isinstance(task, models.Task) for task in created)

    walked, cursor = [], sdk.types.UNSET
    for _ in range(10):
        page = sdk.list_tasks.sync(user.id, client=api, limit=1, cursor=cursor)
        walked += [task.id for task in page.items]
        if not isinstance(page.next_cursor, str):
            break
        cursor = page.next_cursor
    assert walked == [task.id for task in created]

    task = created[0]
    update = models.TaskMergePatch(priority=models.TaskPriority.HIGH)
    updated = sdk.update_task.sync(user.id, task.id, client=api, body=update, if_match=task.etag)
    assert (updated.priority, updated.etag) == (models.TaskPriority.HIGH, '"2"')
    stale = sdk.update_task.sync(user.id, task.id, client=api, body=update, if_match=task.etag)
    assert isinstance(stale, models.Problem)
    assert (stale.status, stale.type_) == (412, "/problems/precondition-failed")

    # The SDK picks the media type from the body's class: TaskUpdate goes as application/json.
    renamed = sdk.update_task.sync(user.id, task.id, client=api, body=models.TaskUpdate(title="Renamed"))
    assert (renamed.title, renamed.priority) == ("Renamed", models.TaskPriority.HIGH)

    toggled = sdk.toggle_task_completion.sync(user.id, task.id, client=api, if_match=renamed.etag)
    assert (toggled.completed, toggled.status) == (True, models.TaskStatus.COMPLETED)

    deleted = sdk.delete_task.sync_detailed(user.id, task.id, client=api, if_match=toggled.etag)
    assert deleted.status_code == 204
    missing = sdk.get_task.sync(user.id, task.id, client=api)
    assert isinstance(missing, models.Problem)
    assert missing.status == 404

    invalid = sdk.create_task.sync(user.id, client=api, body=models.TaskCreate(title=""))
    assert isinstance(invalid, models.Problem)
    assert invalid.type_ == "/problems/validation-error"
    assert {error.pointer for error in invalid.errors} == {"/title"}


def _drive_a_sync_loop(sdk: SimpleNamespace, api: Any, user: Any) -> None:
    """What an offline client does: take a token, (list everything,) then follow the tokens."""
    models = sdk.models
    token = sdk.list_changes.sync(user.id, client=api).sync_token
    groceries = sdk.create_list.sync(user.id, client=api, body=models.TodoListCreate(name="Groceries"))
    milk = sdk.create_task.sync(
        user.id, client=api, body=models.TaskCreate(title="Milk", list_id=groceries.id)
    )

    seen = []
    for _ in range(10):
        page = sdk.list_changes.sync(user.id, client=api, since=token, limit=1)
        seen += [(change.entity, change.operation, change.id) for change in page.changes]
        token = page.sync_token
        if not page.has_more:
            break

    assert seen == [("list", "created", groceries.id), ("task", "created", milk.id)]
    assert sdk.list_changes.sync(user.id, client=api, since=token).changes == []
