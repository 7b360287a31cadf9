"""Where a tasks-api worker spends its time under the CRUD mix: py-spy samples one worker.

    uv run --group bench python -m bench.profile [--seconds 20] [--connections 16] [--top 25]
                                                 [--tasks-api-src DIR]

One worker (``tasks-api serve --workers 1``: uvicorn serves from that process) serves the mix
(``bench/mix.lua``) from wrk while ``py-spy record`` samples it (idle frames left out); prints the
functions with the most samples, inclusive and self, and keeps the collapsed stacks
(``.bench/profile.txt``, loadable in speedscope or flamegraph.pl).
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
from collections import Counter
from pathlib import Path

from bench import dataset
from bench.harness import (
    BIN,
    DEFAULT_MAX_OVERFLOW,
    DEFAULT_POOL_SIZE,
    REPO,
    ensure_wrk,
    run_wrk,
    service_env,
    tasks_api_service,
)

# Leaf frames of threads with nothing to do (the thread pool waiting for work, the loop polling).
_IDLE = ("Condition.wait (threading.py", "Runner.run (asyncio/runners.py")


RATE = 200  # samples per second

# Each sample goes to the layer of its innermost frame (by the frame's file path), first match wins.
_LAYERS = [
    ("PostgreSQL driver (psycopg2)", ("psycopg2/",)),
    ("SQLAlchemy (Core, ORM, pool)", ("sqlalchemy/",)),
    ("pydantic / SQLModel models", ("pydantic", "sqlmodel/")),
    ("JWT (PyJWT, cryptography)", ("jwt/", "cryptography/")),
    ("JSON (orjson, json)", ("orjson", "json/")),
    ("request validation (jsonschema-rs, Connexion's parsers)", ("jsonschema", "uri_parsing", "validators/")),
    ("Connexion, Starlette, middleware", ("connexion/", "starlette/", "asgi_correlation_id/", "werkzeug/")),
    ("metrics (prometheus_client)", ("prometheus_client/",)),
    ("tasks-api code", ("tasks_api/", "handlers/", "models/")),
    (
        "uvicorn, httptools, asyncio, thread hops",
        ("uvicorn/", "httptools", "asyncio/", "anyio/", "threading"),
    ),
]


def _layer(frame: str) -> str | None:
    path = frame.rpartition(" (")[2]
    return next((name for name, marks in _LAYERS if any(mark in path for mark in marks)), None)


def summarize(collapsed: Path, top: int) -> int:
    """Prints the top frames; returns the number of samples counted."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    layers: Counter[str] = Counter()
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        count = int(count_text)
        if stack.rpartition(";")[2].startswith(_IDLE):
            continue
        layers[next(filter(None, map(_layer, reversed(stack.split(";")))), "other")] += count
        frames = [
            frame.split(" (")[0] + " (" + frame.split(" (")[-1].split(":")[0].split("/")[-1] + ")"
            for frame in stack.split(";")
        ]
        total += count
        for frame in set(frames):
            inclusive[frame] += count
        own[frames[-1]] += count
    print(f"{total} busy samples (idle waits left out)\n\n| layer (innermost frame) | % |\n|---|---|")
    for layer, count in layers.most_common():
        print(f"| {layer} | {100 * count / total:.1f} |")
    print("\n| inclusive % | function (file) |\n|---|---|")
    for frame, count in inclusive.most_common(top):
        print(f"| {100 * count / total:.1f} | `{frame}` |")
    print("\n| self % | function (file) |\n|---|---|")
    for frame, count in own.most_common(top):
        print(f"| {100 * count / total:.1f} | `{frame}` |")
    return total


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--data-dir", type=Path, default=REPO / ".bench")
    parser.add_argument("--summarize", type=Path, help="only summarize these collapsed stacks")
    parser.add_argument(
        "--gil",
        action="store_true",
        help="sample only the thread holding the GIL: the worker's Python CPU, without the waits on "
        "PostgreSQL; also prints CPU milliseconds per request",
    )
    parser.add_argument(
        "--native",
        action="store_true",
        help="with C frames (py-spy --native): which Python code reaches a costly C function",
    )
    parser.add_argument(
        "--tasks-api-src", type=Path, help="profile tasks-api served from this source tree (the before)"
    )
    args = parser.parse_args()
    if args.summarize:
        summarize(args.summarize, args.top)
        return

    wrk = ensure_wrk()
    database = dataset.start_postgres(args.data_dir)
    dataset.seed(database)
    name = "profile-before" if args.tasks_api_src else "profile"
    output = args.data_dir / f"{name}{'-gil' if args.gil else ''}{'-native' if args.native else ''}.txt"
    with tempfile.TemporaryDirectory() as scratch:
        service = tasks_api_service(
            service_env(database, 1, DEFAULT_POOL_SIZE, DEFAULT_MAX_OVERFLOW), 1, args.tasks_api_src
        )
        users_lua = dataset.tokens_file(Path(scratch) / "users.lua")
        service.start(Path(scratch) / "service.log")
        try:
            run_wrk(wrk, service.url, users_lua, seconds=5, connections=args.connections)  # warm up
            assert service.process is not None
            spy = subprocess.Popen(
                [
                    str(BIN / "py-spy"),
                    "record",
                    "--format",
                    "raw",
                    "--rate",
                    str(RATE),
                    *(["--gil"] if args.gil else []),
                    *(["--native"] if args.native else []),
                    "--output",
                    str(output),
                    "--duration",
                    str(args.seconds),
                    "--pid",
                    str(service.process.pid),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            result = run_wrk(wrk, service.url, users_lua, seconds=args.seconds, connections=args.connections)
            spy.wait(timeout=args.seconds + 60)
        finally:
            service.stop()
    print(
        f"one worker, {args.connections} connections: {result['rps']:.0f} req/s, "
        f"statuses {result['statuses']}\n"
    )
    samples = summarize(output, args.top)
    if args.gil:
        # The sampled window and wrk's run start together and last as long.
        print(f"\nGIL held {1000 * samples / RATE / result['requests']:.2f} ms per request")


if __name__ == "__main__":
    main()
