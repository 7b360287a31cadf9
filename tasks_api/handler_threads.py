"""Sync handlers and problem renderers run on the event loop's executor, ``handler_threads`` wide.

Connexion hands each sync handler and each sync error renderer to Starlette's
``run_in_threadpool``, that is ``anyio.to_thread.run_sync``: a capacity limiter, a shielded cancel
scope, one more trip through the event loop and a queue per worker thread. asyncio's own
``run_in_executor`` does the same hand-off for a third of the CPU (docs/performance.md, eighth
pass). Both run the function in a copy of the caller's context, so Connexion's request context
travels with it, and both let the request wait for the thread to finish.

Connexion looks ``run_in_threadpool`` up in two modules' namespaces (its decorators and its
exception middleware); ``hand_off_through_the_executor`` replaces it there, and
tests/test_handler_threads.py fails if Connexion stops calling it through them.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import connexion.decorators.main
import connexion.middleware.exceptions

T = TypeVar("T")

_CONNEXION_MODULES = (connexion.decorators.main, connexion.middleware.exceptions)


async def run_on_handler_thread(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``function(*args, **kwargs)`` on one of the loop's executor threads, in a copy of this
    context."""
    context = contextvars.copy_context()
    call = functools.partial(context.run, function, *args, **kwargs)
    return await asyncio.get_running_loop().run_in_executor(None, call)


def hand_off_through_the_executor() -> None:
    """Make Connexion run sync handlers and renderers with ``run_on_handler_thread`` (idempotent)."""
    for module in _CONNEXION_MODULES:
        if not hasattr(module, "run_in_threadpool"):
            raise RuntimeError(f"{module.__name__} no longer hands work to threads by run_in_threadpool")
        module.run_in_threadpool = run_on_handler_thread


def start_handler_threads(count: int) -> ThreadPoolExecutor:
    """The running loop's executor: at most ``count`` threads (started as they are needed)."""
    executor = ThreadPoolExecutor(max_workers=count, thread_name_prefix="tasks-api-handler")
    asyncio.get_running_loop().set_default_executor(executor)
    return executor
