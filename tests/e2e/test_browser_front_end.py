"""A browser page on its own origin uses Better Auth and tasks-api, as a front end would.

Three origins on loopback: Better Auth (node, from package.json), `tasks-api serve` (with
BETTER_AUTH_URL and TASKS_API_CORS_ORIGINS) and a static page. Headless Chromium runs the page;
its fetches pass the browser's real CORS checks, and what the page wrote is read back and asserted.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import URL

from tests.conftest import TEST_JWT_SECRET, free_port
from tests.e2e.chromium import chromium_binary, headless_chromium

HERE = Path(__file__).parent
ROOT = HERE.parents[1]
TASKS_API = str(Path(sys.executable).parent / "tasks-api")


def _missing_prerequisite() -> str | None:
    if not chromium_binary():
        return "chromium is not installed (run .ci/browser)"
    if not (ROOT / "node_modules" / "better-auth").is_dir():
        return "Better Auth is not installed (run npm ci)"
    return None


@pytest.fixture(scope="module", autouse=True)
def _prerequisites() -> None:
    missing = _missing_prerequisite()
    if missing and os.environ.get("CI"):
        pytest.fail(f"{missing}: CI must run the browser test")
    if missing:
        pytest.skip(missing)


def _start(args: list[str], log: Path, ready_url: str, **env: str) -> subprocess.Popen[bytes]:
    with log.open("wb") as output:  # the child keeps its own copy of the file
        process = subprocess.Popen(
            args, cwd=ROOT, env={**os.environ, **env}, stdout=output, stderr=subprocess.STDOUT
        )
    deadline = time.monotonic() + 120  # generous: a loaded 2-core machine
    while True:
        try:
            if httpx.get(ready_url, timeout=10).status_code == 200:
                return process
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"{args[0]} did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="module")
def three_origins(database_url: URL, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    logs = tmp_path_factory.mktemp("e2e")
    auth_port, api_port, page_port = free_port(), free_port(), free_port()
    origins = {
        "auth": f"http://127.0.0.1:{auth_port}",
        "api": f"http://127.0.0.1:{api_port}",
        "page": f"http://127.0.0.1:{page_port}",
    }
    processes = []
    try:
        processes.append(
            _start(
                ["node", str(HERE / "auth-server.mjs")],
                logs / "better-auth.log",
                f"{origins['auth']}/api/auth/ok",
                AUTH_PORT=str(auth_port),
                AUTH_SECRET=secrets.token_urlsafe(32),
                AUTH_DATABASE=str(logs / "better-auth.sqlite"),
                PAGE_ORIGIN=origins["page"],
            )
        )
        processes.append(
            _start(
                [TASKS_API, "serve", "--port", str(api_port)],
                logs / "tasks-api.log",
                f"{origins['api']}/ready",
                DATABASE_URL=database_url.render_as_string(hide_password=False),
                JWT_SECRET=TEST_JWT_SECRET,
                BETTER_AUTH_URL=origins["auth"],
                TASKS_API_CORS_ORIGINS=origins["page"],
            )
        )
        processes.append(
            _start(
                [
                    sys.executable,
                    "-m",
                    "http.server",
                    "-d",
                    str(HERE / "page"),
                    "-b",
                    "127.0.0.1",
                    str(page_port),
                ],
                logs / "page.log",
                f"{origins['page']}/index.html",
            )
        )
        yield origins
    finally:
        for process in reversed(processes):
            _stop(process)


def test_a_page_on_another_origin_signs_up_and_manages_a_task(three_origins: dict[str, str]) -> None:
    with headless_chromium() as page:
        page.open(
            f"{three_origins['page']}/index.html?auth={three_origins['auth']}&api={three_origins['api']}"
        )
        outcome = json.loads(page.wait_for("document.getElementById('outcome').textContent"))

    print(json.dumps(outcome, indent=2))  # the test's output: what the page saw, step by step
    assert outcome["error"] is None
    steps = {step["step"]: step for step in outcome["steps"]}
    user_id = steps["sign-up and token"]["userId"]
    created = steps["create"]
    assert created["status"] == 201
    assert created["location"] == f"/api/{user_id}/tasks/{created['task']['id']}"
    assert created["etag"] == created["task"]["etag"]  # the ETag header, read by the page
    assert steps["list"] == {"step": "list", "status": 200, "titles": ["Buy milk"]}
    assert steps["merge-patch"]["status"] == 200
    assert steps["merge-patch"]["title"] == "Buy oat milk"
    assert steps["merge-patch"]["etag"] not in {None, created["etag"]}
    assert steps["stale merge-patch"]["status"] == 412
    assert steps["stale merge-patch"]["type"] == "/problems/precondition-failed"
    assert steps["toggle"]["status"] == 200
    assert steps["toggle"]["completed"] is True
    assert steps["toggle"]["requestId"]  # an exposed header, readable by the page
    assert steps["delete"]["status"] == 204
    assert steps["get after delete"]["status"] == 404


def test_the_documentation_renders_under_its_content_security_policy(
    three_origins: dict[str, str], tmp_path: Path
) -> None:
    with headless_chromium() as page:
        page.open(f"{three_origins['api']}/docs")
        title = page.wait_for("document.querySelector('.swagger-ui .info .title')?.textContent")
        operations = page.evaluate("document.querySelectorAll('.opblock').length")
        violations = page.evaluate("window.cspViolations")
        page.screenshot(tmp_path / "docs.png")  # kept under pytest's temporary folder, to look at

    assert "server" not in httpx.get(f"{three_origins['api']}/health").headers
    assert title.startswith("tasks-api")
    assert operations >= 17
    assert violations == []
