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


class TokenRevoked(DomainError):
    """The token's user no longer exists, or signed out everywhere (or changed password) since."""

    def __init__(self) -> None:
        super().__init__("The token has been revoked, or its account no longer exists.")


class RequestRateExceeded(DomainError):
    def __init__(self, limit: int, window_seconds: int, retry_after_seconds: int) -> None:
        super().__init__(f"More than {limit} requests in {window_seconds} s for this user; slow down.")
        self.limit = limit
        self.window_seconds = window_seconds
        self.retry_after_seconds = retry_after_seconds


class TooManyRegistrations(DomainError):
    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__("Too many registrations from this address or in total; try again later.")
        self.retry_after_seconds = retry_after_seconds


class PasswordHashingBusy(DomainError):
    """Every password-hashing slot on the host is taken: refused at once rather than queued."""

    retry_after_seconds = 1

    def __init__(self) -> None:
        super().__init__("The service is busy checking other passwords; try again in a moment.")


class IdentityProviderUnavailable(DomainError):
    """The token names a key we do not have and the provider's key set cannot be fetched."""

    retry_after_seconds = 30

    def __init__(self) -> None:
        super().__init__("The identity provider cannot be reached to check this token; try again shortly.")


class WeakPassword(DomainError):
    """A password the policy refuses; the detail never repeats it."""

    def __init__(self, pointer: str, reason: str) -> None:
        super().__init__("The password is not acceptable.")
        self.errors = [{"pointer": pointer, "detail": reason}]


class WrongCurrentPassword(DomainError):
    def __init__(self) -> None:
        super().__init__("The current password is wrong.")


class NoPasswordHere(DomainError):
    """An identity provider's user has no password with this service to change."""

    def __init__(self) -> None:
        super().__init__("This account signs in with its identity provider and has no password here.")


class TaskQuotaExceeded(DomainError):
    def __init__(self, quota: int) -> None:
        super().__init__(f"You have {quota} tasks, as many as one user may keep; delete some first.")
        self.quota = quota


class IdempotencyKeyQuotaExceeded(DomainError):
    def __init__(self, quota: int, retry_after_seconds: int) -> None:
        super().__init__(f"You have used {quota} Idempotency-Keys in 24 hours, as many as one user may.")
        self.quota = quota
        self.retry_after_seconds = retry_after_seconds


class TooManyConcurrentListings(DomainError):
    def __init__(self, per_user: int) -> None:
        super().__init__(f"You already have {per_user} lists or searches running here; retry when one ends.")
        self.per_user = per_user


class ListingTooSlow(DomainError):
    """A list or search ran past its own time limit (and was cancelled by PostgreSQL)."""

    def __init__(self, timeout_ms: int) -> None:
        super().__init__(
            f"The listing took over {timeout_ms} ms; narrow it (say, a longer search word) or retry."
        )
        self.timeout_ms = timeout_ms
