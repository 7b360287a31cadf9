"""Connexion's sync handlers and renderers run on the event loop's executor, ``handler_threads`` wide."""

from __future__ import annotations

import threading

import anyio
import connexion.decorators.main
import connexion.middleware.exceptions
from sqlalchemy.engine import URL
from starlette.testclient import TestClient

from tasks_api.app import create_app
from tasks_api.handler_threads import run_on_handler_thread
from tests.conftest import settings_for

THREADS = 3


class TestHandlerThreads:
    def test_connexion_hands_sync_work_to_the_executor(self, database_url: URL) -> None:
        create_app(settings_for(database_url))

        assert connexion.decorators.main.run_in_threadpool is run_on_handler_thread
        assert connexion.middleware.exceptions.run_in_threadpool is run_on_handler_thread

    def test_a_worker_runs_as_many_at_once_as_configured_and_no_more(self, database_url: URL) -> None:
        all_waiting = threading.Barrier(THREADS, timeout=60)
        threads_used: set[int] = set()

        def wait_for_the_others() -> None:
            threads_used.add(threading.get_ident())
            all_waiting.wait()  # only passes once THREADS of them run at the same time

        async def twice_as_many_at_once() -> None:
            async with anyio.create_task_group() as group:
                for _ in range(2 * THREADS):
                    group.start_soon(run_on_handler_thread, wait_for_the_others)

        settings = settings_for(database_url, handler_threads=THREADS, concurrent_listings_per_user=2)
        with TestClient(create_app(settings)) as http:
            http.portal.call(twice_as_many_at_once)  # type: ignore[union-attr]

        assert len(threads_used) == THREADS
