"""`tasks-api serve --workers 2`: each worker listens on a socket of its own, in one SO_REUSEPORT
group, so the kernel spreads new connections over the workers instead of the first worker awake
accepting a whole burst (tasks_api/worker_listeners.py)."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections import Counter
from urllib.parse import urlsplit

import psutil
import pytest

from tests.serving import READY_WITHIN_SECONDS, STOPPED_WITHIN_SECONDS, TASKS_API, listening_sockets

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="SO_REUSEPORT balances on Linux only")

WORKERS = 2
BURST = 64  # connections opened at once; a fair split leaves each worker far more than FAIR_SHARE_FLOOR
FAIR_SHARE_FLOOR = 8  # a hash split of 64 leaves a worker under 8 about once in 10^9 bursts


def _port(base_url: str) -> int:
    port = urlsplit(base_url).port
    assert port is not None
    return port


def _accepted_by(workers: set[int], clients: list[socket.socket]) -> Counter[int]:
    """Worker pid -> how many of ``clients``' connections it holds."""
    client_ports = {client.getsockname()[1] for client in clients}
    return Counter(
        connection.pid
        for connection in psutil.net_connections(kind="tcp")
        if connection.pid in workers and connection.raddr and connection.raddr.port in client_ports
    )


class TestServeWithSeveralWorkers:
    def test_each_worker_listens_on_a_socket_of_its_own(self, served_with_two_workers: str) -> None:
        listening = listening_sockets(_port(served_with_two_workers))

        assert all(len(sockets) == 1 for sockets in listening.values()), listening
        assert len(set.union(*listening.values())) == WORKERS, f"one socket shared: {listening}"

    def test_a_burst_of_new_connections_reaches_every_worker(self, served_with_two_workers: str) -> None:
        port = _port(served_with_two_workers)
        workers = set(listening_sockets(port))
        clients = [
            socket.create_connection(("127.0.0.1", port), timeout=READY_WITHIN_SECONDS) for _ in range(BURST)
        ]
        try:
            for client in clients:  # an answer on each: each was accepted by a worker
                client.sendall(b"GET /health HTTP/1.1\r\nHost: tasks-api\r\n\r\n")
            for client in clients:
                assert client.recv(64).startswith(b"HTTP/1.1 200")
            per_worker = _accepted_by(workers, clients)
        finally:
            for client in clients:
                client.close()

        assert sum(per_worker.values()) == BURST
        assert min(per_worker[worker] for worker in workers) >= FAIR_SHARE_FLOOR, per_worker

    def test_a_second_serve_on_the_same_port_is_refused(
        self, served_with_two_workers: str, serve_env: dict[str, str]
    ) -> None:
        # SO_REUSEPORT would let a second group join and take half the connections: only the
        # workers of one serve may listen there.
        port = _port(served_with_two_workers)
        second = subprocess.run(
            [TASKS_API, "serve", "--port", str(port), "--workers", "2"],
            env=serve_env,
            check=False,  # its exit status is what is checked
            capture_output=True,
            text=True,
            timeout=READY_WITHIN_SECONDS + STOPPED_WITHIN_SECONDS,
        )

        assert second.returncode != 0
        assert "Address already in use" in second.stdout + second.stderr
        assert len(listening_sockets(port)) == WORKERS
