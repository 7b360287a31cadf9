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


class PreconditionFailed(DomainError):
    def __init__(self) -> None:
        super().__init__("The resource has changed since the ETag in If-Match.")


class ListNotFound(DomainError):
    """No such list for this owner (another owner's list is indistinguishable from none)."""

    def __init__(self, list_id: UUID) -> None:
        super().__init__(f"No list {list_id}.")
        self.list_id = list_id


class DefaultListUndeletable(DomainError):
    def __init__(self) -> None:
        super().__init__("The default list cannot be deleted; delete or move its tasks instead.")


class InvalidCursor(DomainError):
    def __init__(self, parameter: str = "cursor") -> None:
        super().__init__(f"The {parameter} is not one this service issued for this user and listing.")
        self.errors = [{"pointer": parameter, "detail": "unknown, altered, or issued for another listing"}]


class SyncTokenExpired(DomainError):
    """The changes after this sync token are no longer all kept: only a full sync is exact."""

    def __init__(self) -> None:
        super().__init__(
            "This sync token is older than the change history kept: sync from scratch "
            "(GET /changes without a token, then list every list and task)."
        )


class IdempotencyKeyInFlight(DomainError):
    def __init__(self) -> None:
        super().__init__("A request with this Idempotency-Key is still running; retry shortly.")


class IdempotencyKeyReused(DomainError):
    def __init__(self) -> None:
        super().__init__("This Idempotency-Key was used with a different request body.")


class NotTheOwner(DomainError):
    """The authenticated user asked for someone else's tasks."""

    def __init__(self) -> None:
        super().__init__("These tasks belong to another user.")


class EmailAlreadyRegistered(DomainError):
    def __init__(self) -> None:
        super().__init__("An account with this email already exists.")


class InvalidCredentials(DomainError):
    """Unknown email or wrong password; deliberately not saying which."""

    def __init__(self) -> None:
        super().__init__("The email or the password is wrong.")


class TooManySignInFailures(DomainError):
    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__("Too many failed sign-ins; try again later.")
        self.retry_after_seconds = retry_after_seconds


class InvalidInput(DomainError):
    """Input that passed the contract but cannot be used (e.g. a date outside the calendar)."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__("The request data is invalid.")
        self.errors = errors
