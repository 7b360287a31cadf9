"""The comparator: the same task operations as tasks-api, written the way FastAPI + SQLModel advocates
write them (the full-stack-fastapi-template's shape).

Sync endpoints (FastAPI runs them in its thread pool), one ``Session`` per request through a
dependency, pydantic models carrying the contract's constraints, an HS256 bearer check with the same
``typ``, issuer, audience and required claims, the current user looked up per request by (issuer,
subject) as the template's ``CurrentUser`` does (a token older than the user's revocation refused),
the same SQL per operation (the owner-scoped select, ``FOR UPDATE`` before a conditional write; on
create the quota count under the user's row lock, the default list, the end of the list), the same
pool size and statement timeout. It serves ``/api/{user_id}/tasks`` exactly as the bench drives
tasks-api. What it leaves out: the per-user request rate (tasks-api counts every request in the
user's row), idempotency keys, the change feed's signed tokens, metrics.

    DATABASE_URL=... JWT_SECRET=... uvicorn bench.fastapi_tasks:app --workers 2
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any
from uuid import UUID, uuid4

import jwt
import sqlalchemy as sa
from fastapi import Body, Depends, FastAPI, Header, HTTPException, Query, Response, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from itsdangerous import BadData, URLSafeSerializer
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sqlmodel import Session, SQLModel, col, select

from models.task import Task, TaskPriority, TaskStatus
from models.todo_list import TodoList
from models.user import BUILT_IN_ISSUER, User


def _engine() -> sa.Engine:
    pool_size = int(os.environ["TASKS_API_DB_POOL_SIZE"])  # the harness gives both services the same
    return sa.create_engine(
        os.environ["DATABASE_URL"].replace("postgresql://", "postgresql+psycopg2://", 1),
        pool_size=pool_size,
        max_overflow=int(os.environ["TASKS_API_DB_MAX_OVERFLOW"]),
        connect_args={"options": "-c statement_timeout=10000", "application_name": "fastapi-tasks"},
    )


engine = _engine()
SECRET = os.environ["JWT_SECRET"]
cursors = URLSafeSerializer(SECRET, salt="fastapi list cursor")
app = FastAPI(title="tasks (FastAPI + SQLModel)")
bearer = HTTPBearer()


def get_session() -> Iterator[Session]:
    with Session(engine) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def current_user(
    session: SessionDep, credentials: Annotated[HTTPAuthorizationCredentials, Depends(bearer)]
) -> User:
    try:
        decoded = jwt.decode_complete(
            credentials.credentials,
            SECRET,
            algorithms=["HS256"],
            issuer="tasks-api",
            audience="tasks-api",
            options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            leeway=30,
        )
    except jwt.PyJWTError:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "Invalid token") from None
    claims = decoded["payload"]
    if decoded["header"].get("typ") != "at+jwt":
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "Not an access token")
    query = select(User).where(User.issuer == BUILT_IN_ISSUER, User.subject == claims["sub"])
    user = session.exec(query).first()
    issued_at = datetime.fromtimestamp(claims["iat"], UTC)
    if user is None or (user.tokens_valid_after is not None and issued_at <= user.tokens_valid_after):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "Token revoked")
    return user


CurrentUser = Annotated[User, Depends(current_user)]


def owner(user_id: str, user: CurrentUser) -> User:
    if user_id != user.subject:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Forbidden")
    return user


OwnerDep = Annotated[User, Depends(owner)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


Tag = Annotated[str, Field(min_length=1, max_length=40)]


def _normalized(tags: list[str]) -> list[str]:
    """Trimmed, once each without regard to case, as first spelled (the contract's rule)."""
    seen: dict[str, str] = {}
    for tag in tags:
        seen.setdefault(tag.strip().lower(), tag.strip())
    return list(seen.values())


class TaskIn(Strict):
    title: str = Field(min_length=1, max_length=200, pattern=r"\S")
    description: str | None = Field(default=None, max_length=4000)
    status: TaskStatus = TaskStatus.PENDING
    priority: TaskPriority = TaskPriority.NORMAL
    due_at: AwareDatetime | None = None
    list_id: UUID | None = None
    tags: list[Tag] | None = Field(default=None, max_length=20)


class TaskPatch(Strict):
    title: str | None = Field(default=None, min_length=1, max_length=200, pattern=r"\S")
    description: str | None = Field(default=None, max_length=4000)
    status: TaskStatus | None = None
    priority: TaskPriority | None = None
    due_at: AwareDatetime | None = None
    list_id: UUID | None = None
    tags: list[Tag] | None = Field(default=None, max_length=20)


class TaskOut(SQLModel):
    id: UUID
    user_id: str
    list_id: UUID
    position: int
    tags: list[str]
    title: str
    description: str | None
    status: TaskStatus
    completed: bool
    priority: TaskPriority
    due_at: datetime | None
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None
    etag: str

    @classmethod
    def of(cls, task: Task, user: User) -> TaskOut:
        derived = {
            "completed": task.status == TaskStatus.COMPLETED,
            "etag": f'"{task.version}"',
            "user_id": user.subject,
        }
        return cls.model_validate(task, update=derived)


class TaskPage(BaseModel):
    items: list[TaskOut]
    next_cursor: str | None


class SortField(StrEnum):
    CREATED_AT = "created_at"
    CREATED_AT_DESC = "-created_at"
    UPDATED_AT = "updated_at"
    UPDATED_AT_DESC = "-updated_at"


def _listing(user_id: str, sort: str, filters: dict[str, Any]) -> str:
    raw = json.dumps({"user": user_id, "sort": sort, "filters": filters}, sort_keys=True, default=str)
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


@app.get("/api/{user_id}/tasks", response_model=TaskPage)
def list_tasks(
    *,
    user: OwnerDep,
    session: SessionDep,
    response: Response,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    sort: SortField = SortField.CREATED_AT,
    cursor: Annotated[str | None, Query(max_length=1024)] = None,
    task_status: Annotated[TaskStatus | None, Query(alias="status")] = None,
    priority: TaskPriority | None = None,
    completed: bool | None = None,
) -> TaskPage:
    user_id = user.subject
    filters = {"status": task_status, "priority": priority, "completed": completed}
    listing = _listing(user_id, sort, {k: v for k, v in filters.items() if v is not None})
    field = col(getattr(Task, sort.removeprefix("-")))
    descending = sort.startswith("-")
    query = select(Task).where(Task.user_id == user.id)
    if task_status is not None:
        query = query.where(Task.status == task_status)
    if priority is not None:
        query = query.where(Task.priority == priority)
    if completed is not None:
        is_completed = col(Task.status) == TaskStatus.COMPLETED
        query = query.where(is_completed if completed else sa.not_(is_completed))
    if cursor:
        try:
            data = cursors.loads(cursor)
        except BadData:
            raise HTTPException(status.HTTP_400_BAD_REQUEST, "Invalid cursor") from None
        if data.get("l") != listing:
            raise HTTPException(status.HTTP_400_BAD_REQUEST, "Invalid cursor")
        value, task_id = data["p"]
        row = sa.tuple_(field, col(Task.id))
        bound = sa.tuple_(sa.cast(value, sa.DateTime(timezone=True)), sa.literal(UUID(task_id)))
        query = query.where(row < bound if descending else row > bound)
    order = [field.desc(), col(Task.id).desc()] if descending else [field.asc(), col(Task.id).asc()]
    rows = session.exec(query.order_by(*order).limit(limit + 1)).all()
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        position = [getattr(last, sort.removeprefix("-")).isoformat(), str(last.id)]
        next_cursor = cursors.dumps({"l": listing, "p": position})
        response.headers["Link"] = f'</api/{user_id}/tasks?cursor={next_cursor}>; rel="next"'
    return TaskPage(items=[TaskOut.of(task, user) for task in rows], next_cursor=next_cursor)


def _set_status(task: Task, new_status: TaskStatus, now: datetime) -> None:
    if new_status == TaskStatus.COMPLETED and task.completed_at is None:
        task.completed_at = now
    elif new_status != TaskStatus.COMPLETED:
        task.completed_at = None
    task.status = new_status


def _task_for_change(session: Session, user: User, task_id: UUID, if_match: str | None) -> Task:
    query = select(Task).where(Task.id == task_id, Task.user_id == user.id).with_for_update()
    task = session.exec(query).first()
    if task is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Task not found")
    if if_match is not None and if_match.strip() not in ("*", f'"{task.version}"'):
        raise HTTPException(status.HTTP_412_PRECONDITION_FAILED, "Precondition failed")
    return task


def _saved(session: Session, task: Task, user: User, response: Response, now: datetime) -> TaskOut:
    task.updated_at = now
    task.version += 1
    session.add(task)
    session.flush()
    out = TaskOut.of(task, user)
    session.commit()
    response.headers["ETag"] = out.etag
    return out


QUOTA = int(os.environ.get("TASKS_API_TASKS_PER_USER", "100000"))
# As tasks-api counts: no further than the quota, the user's row locked until commit.
_TASKS_HELD = sa.text(
    "SELECT (SELECT count(*) FROM (SELECT 1 FROM tasks WHERE user_id = :owner LIMIT :quota) AS held)"
    " FROM users WHERE id = :owner FOR UPDATE"
)
GAP = 65536


def _list_for(session: Session, user: User, list_id: UUID | None) -> UUID:
    query = select(TodoList.id).where(TodoList.user_id == user.id)
    query = query.where(TodoList.id == list_id) if list_id else query.where(col(TodoList.is_default))
    found = session.exec(query).first()
    if found is None:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "No such list")
    return found


def _end_of(session: Session, list_id: UUID) -> int:
    last = session.scalar(select(sa.func.max(Task.position)).where(col(Task.list_id) == list_id))
    return (last or 0) + GAP


def _set_tags(task: Task, tags: list[str]) -> None:
    task.tags = _normalized(tags)
    task.tag_keys = [tag.lower() for tag in task.tags]


@app.post("/api/{user_id}/tasks", response_model=TaskOut, status_code=status.HTTP_201_CREATED)
def create_task(*, user: OwnerDep, session: SessionDep, body: TaskIn, response: Response) -> TaskOut:
    if session.scalar(_TASKS_HELD, {"owner": user.id, "quota": QUOTA}) >= QUOTA:
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, "Task quota reached")
    list_id = _list_for(session, user, body.list_id)
    now = datetime.now(UTC)
    task = Task.model_validate(
        body.model_dump(exclude={"tags"}),
        update={"user_id": user.id, "list_id": list_id, "created_at": now, "updated_at": now},
    )
    _set_tags(task, body.tags or [])
    task.position = _end_of(session, list_id)
    _set_status(task, body.status, now)
    session.add(task)
    session.flush()
    out = TaskOut.of(task, user)
    session.commit()
    response.headers["Location"] = f"/api/{user.subject}/tasks/{task.id}"
    response.headers["ETag"] = out.etag
    return out


@app.get("/api/{user_id}/tasks/{task_id}", response_model=TaskOut)
def get_task(
    *,
    user: OwnerDep,
    task_id: UUID,
    session: SessionDep,
    response: Response,
    if_none_match: Annotated[str | None, Header()] = None,
) -> TaskOut | Response:
    task = session.exec(select(Task).where(Task.id == task_id, Task.user_id == user.id)).first()
    if task is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Task not found")
    etag = f'"{task.version}"'
    if if_none_match is not None and if_none_match.strip() in ("*", etag, f"W/{etag}"):
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers={"ETag": etag})
    response.headers["ETag"] = etag
    return TaskOut.of(task, user)


@app.patch("/api/{user_id}/tasks/{task_id}", response_model=TaskOut)
def update_task(
    *,
    user: OwnerDep,
    task_id: UUID,
    session: SessionDep,
    response: Response,
    patch: Annotated[TaskPatch, Body(media_type="application/merge-patch+json")],
    if_match: Annotated[str | None, Header()] = None,
) -> TaskOut:
    task = _task_for_change(session, user, task_id, if_match)
    now = datetime.now(UTC)
    changes = patch.model_dump(exclude_unset=True, exclude={"status", "list_id", "tags"})
    if "title" in changes and changes["title"] is None:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "title cannot be null")
    task.sqlmodel_update(changes)
    if patch.list_id is not None and patch.list_id != task.list_id:
        task.list_id = _list_for(session, user, patch.list_id)
        task.position = _end_of(session, task.list_id)
    if patch.tags is not None:
        _set_tags(task, patch.tags)
    if patch.status is not None:
        _set_status(task, patch.status, now)
    return _saved(session, task, user, response, now)


@app.patch("/api/{user_id}/tasks/{task_id}/complete", response_model=TaskOut)
def toggle_task_completion(
    *,
    user: OwnerDep,
    task_id: UUID,
    session: SessionDep,
    response: Response,
    if_match: Annotated[str | None, Header()] = None,
) -> TaskOut:
    task = _task_for_change(session, user, task_id, if_match)
    now = datetime.now(UTC)
    completed = task.status == TaskStatus.COMPLETED
    _set_status(task, TaskStatus.PENDING if completed else TaskStatus.COMPLETED, now)
    return _saved(session, task, user, response, now)


@app.delete("/api/{user_id}/tasks/{task_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_task(
    *,
    user: OwnerDep,
    task_id: UUID,
    session: SessionDep,
    if_match: Annotated[str | None, Header()] = None,
) -> None:
    session.delete(_task_for_change(session, user, task_id, if_match))
    session.commit()


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok", "id": str(uuid4())}
