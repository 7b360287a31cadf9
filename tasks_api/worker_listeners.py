"""Several workers: each listens on a socket of its own, all in one ``SO_REUSEPORT`` group, so that
the kernel spreads new connections over the workers by a hash of their addresses.

uvicorn's supervisor binds one socket and every worker accepts from it. The first worker awake
accepts a whole burst of new connections, and a keep-alive connection stays where it landed: over
twelve bursts of 32 connections to two idle workers the bench saw splits of 2/30, 7/25 and 10/22.
The loaded worker is one core (the GIL) serving most of the traffic while the other idles; its
requests queue. Upstream: Kludex/uvicorn#2472 (open); Linux only, as ``SO_REUSEPORT``'s
balancing is.
"""

from __future__ import annotations

import contextlib
import socket
import sys
from typing import Any

import uvicorn
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors.multiprocess import Multiprocess

BALANCED_BY_THE_KERNEL = sys.platform == "linux" and hasattr(socket, "SO_REUSEPORT")


def run_uvicorn(app: str, **options: Any) -> None:
    """``uvicorn.run(app, **options)``; with several ``workers``, each listening on its own socket."""
    if options.get("workers", 1) <= 1 or not BALANCED_BY_THE_KERNEL:
        uvicorn.run(app, **options)
        return
    config = uvicorn.Config(app, **options)
    # uvicorn's own bind: its address check, its error on a taken port, its "running on" line.
    # Kept bound but never listening, it holds the address and is no member of the group.
    address_holder = config.bind_socket()
    with contextlib.suppress(KeyboardInterrupt):  # as uvicorn.run: Ctrl-C ends it quietly
        Multiprocess(config, sockets=[_ListenerPerWorker.holding(address_holder)]).run()


class _ListenerPerWorker(socket.socket):
    """The supervisor's socket, which a worker receives as a listener of its own: multiprocessing
    pickles a worker's sockets, and this one unpickles as a new socket bound to the same address."""

    @classmethod
    def holding(cls, bound: socket.socket) -> _ListenerPerWorker:
        return cls(bound.family, bound.type, bound.proto, bound.detach())

    def __reduce_ex__(self, protocol: Any) -> tuple[Any, ...]:
        return (_own_listener, (self.family, self.getsockname()))


def _own_listener(family: socket.AddressFamily, address: Any) -> socket.socket:
    """In the worker, before uvicorn starts it: bound, not yet listening (uvicorn listens)."""
    listener = socket.socket(family, socket.SOCK_STREAM)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        listener.bind(address)
    except OSError as error:
        listener.close()
        # Not logged: a worker configures its logging only after its sockets have arrived.
        print(f"Could not listen on {address}: {error}", file=sys.stderr)
        # The supervisor stops instead of restarting a worker that fails this way.
        sys.exit(STARTUP_FAILURE)
    return listener
