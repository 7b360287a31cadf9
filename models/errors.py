"""Domain errors: what went wrong, in the service's terms. ``tasks_api.problems`` maps them to HTTP."""

from __future__ import annotations

from uuid import UUID


class DomainError(Exception):
    """Base of every error the data layer raises on purpose."""


class TaskNotFound(DomainError):
    """No such task for this owner (another owner's task is indistinguishable from none)."""

    def __init__(self, task_id: UUID) -> None:
        super().__init__(f"No task {task_id}.")
        self.task_id = task_id


class InvalidTaskData(DomainError):
    """Input that passed the contract but cannot be a task (e.g. a date outside the calendar)."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__("The task data is invalid.")
        self.errors = errors
