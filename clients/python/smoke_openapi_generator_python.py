"""Smoke test of the SDK that OpenAPI Generator's `python` generator makes from the contract.

The same day as smoke_openapi_python_client.py, against the live service: register, token,
create, list a page, merge-patch with If-Match, the stale retry parsed as a typed Problem,
toggle, delete.

    PYTHONPATH=build/sdks/openapi-generator-python uv run python \\
        clients/python/smoke_openapi_generator_python.py http://127.0.0.1:8000
"""

from __future__ import annotations

import argparse
import uuid

from openapi_client import (
    AccountsApi,
    ApiClient,
    Configuration,
    Credentials,
    Problem,
    TaskCreate,
    TaskMergePatch,
    TaskPriority,
    TasksApi,
    UserRegistration,
)
from openapi_client.exceptions import ApiException


def smoke(base_url: str) -> None:
    email, password = f"smoke-{uuid.uuid4().hex[:12]}@example.com", "correct horse battery"
    configuration = Configuration(host=base_url)
    with ApiClient(configuration) as client:
        accounts = AccountsApi(client)
        user = accounts.register_user(UserRegistration(email=email, name="Smoke", password=password))
        token = accounts.create_token(Credentials(email=email, password=password))
        configuration.access_token = token.access_token

        tasks = TasksApi(client)
        task = tasks.create_task(user.id, TaskCreate(title="Buy milk"), idempotency_key=str(uuid.uuid4()))
        page = tasks.list_tasks(user.id, limit=10)
        assert task.id in [listed.id for listed in page.items], page

        patch = TaskMergePatch(priority=TaskPriority.HIGH)
        updated = tasks.update_task(user.id, task.id, patch, if_match=task.etag)
        assert updated.priority == TaskPriority.HIGH, updated
        try:
            tasks.update_task(user.id, task.id, patch, if_match=task.etag)
        except ApiException as refused:
            stale = refused.data
        else:
            raise AssertionError("a stale If-Match was accepted")
        assert isinstance(stale, Problem), stale
        assert (stale.status, stale.type) == (412, "/problems/precondition-failed"), stale

        toggled = tasks.toggle_task_completion(user.id, task.id, if_match=updated.etag)
        assert toggled.completed, toggled
        deleted = tasks.delete_task_with_http_info(user.id, task.id, if_match=toggled.etag)
        assert deleted.status_code == 204, deleted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base_url")
    arguments = parser.parse_args()
    smoke(arguments.base_url)
    print(f"OpenAPI Generator python SDK: every step passed against {arguments.base_url}")


if __name__ == "__main__":
    main()
