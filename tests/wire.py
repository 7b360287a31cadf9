"""A TCP proxy in front of PostgreSQL that records every query a client sends over the wire.

SQLAlchemy's ``before_cursor_execute`` sees the statements code runs, but not what the driver adds
on its own: psycopg2 sends ``BEGIN`` before the first statement of a transaction, ``ROLLBACK``
when a pooled connection is reset, and ``SET``s when session characteristics change. Each of those
is a round trip too. This proxy reads the frontend half of the protocol (psycopg2 speaks the simple
query protocol: one ``Q`` message per round trip), so a test can assert everything a request cost.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from sqlalchemy.engine import URL

_PROTOCOL_3 = 196608  # the StartupMessage's version code; SSL/GSS/cancel requests use others


class WireProxy:
    """Listens on a loopback port and forwards each connection to the server at ``direct``."""

    def __init__(self, direct: URL) -> None:
        socket_dir = direct.query.get("host") or direct.host
        self._target = str(socket_dir)
        self._port = direct.port or 5432
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._queries: list[str] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def url_for(self, direct: URL) -> URL:
        return direct.set(host="127.0.0.1", port=self.port, query={"sslmode": "disable"})

    @contextmanager
    def recording(self) -> Iterator[list[str]]:
        """The queries sent while the block runs, in order, as their SQL text."""
        with self._lock:
            self._queries = []
        seen: list[str] = []
        yield seen
        with self._lock:
            seen.extend(self._queries)

    def close(self) -> None:
        self._listener.close()

    def _connect_upstream(self) -> socket.socket:
        if self._target.startswith("/"):
            upstream = socket.socket(socket.AF_UNIX)
            upstream.connect(str(Path(self._target) / f".s.PGSQL.{self._port}"))
            return upstream
        return socket.create_connection((self._target, self._port))

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:  # closed
                return
            upstream = self._connect_upstream()
            threading.Thread(target=self._client_to_server, args=(client, upstream), daemon=True).start()
            threading.Thread(target=_pump, args=(upstream, client), daemon=True).start()

    def _client_to_server(self, client: socket.socket, upstream: socket.socket) -> None:
        buffer = b""
        started = False
        while data := _receive(client):
            buffer += data
            while True:
                if not started:
                    if len(buffer) < 8:
                        break
                    length = int.from_bytes(buffer[:4], "big")
                    if len(buffer) < length:
                        break
                    started = int.from_bytes(buffer[4:8], "big") == _PROTOCOL_3
                    buffer = buffer[length:]
                    continue
                if len(buffer) < 5:
                    break
                length = int.from_bytes(buffer[1:5], "big")
                if len(buffer) < 1 + length:
                    break
                kind, body, buffer = buffer[:1], buffer[5 : 1 + length], buffer[1 + length :]
                if kind == b"Q":
                    with self._lock:
                        self._queries.append(body.rstrip(b"\0").decode())
            # Forwarded once recorded: the server cannot answer a query the log does not hold yet.
            try:
                upstream.sendall(data)
            except OSError:
                break
        _close(upstream)


def _receive(connection: socket.socket) -> bytes:
    try:
        return connection.recv(65536)
    except OSError:
        return b""


def _pump(source: socket.socket, sink: socket.socket) -> None:
    while data := _receive(source):
        try:
            sink.sendall(data)
        except OSError:
            break
    _close(sink)


def _close(connection: socket.socket) -> None:
    with suppress(OSError):
        connection.shutdown(socket.SHUT_RDWR)
    connection.close()
