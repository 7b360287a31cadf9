"""The HTTP edge over raw sockets: request heads bounded (414, 431), slow and idle clients dropped
(408 or a closed connection), each with the server options `tasks-api serve` uses."""

from __future__ import annotations

import contextlib
import inspect
import logging
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import orjson
import pytest
import uvicorn
from sqlalchemy.engine import URL
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from tasks_api.app import create_app
from tasks_api.http_edge import BoundedHttpToolsProtocol, server_options
from tasks_api.settings import Settings
from tests.conftest import free_port, settings_for

MAX_HEADER_BYTES = 16 * 1024
MAX_URL_BYTES = 8192
TIMEOUT_SECONDS = 1  # short header, body and keep-alive timeouts, so the tests do not wait long
PATIENCE_SECONDS = 60  # how long a test waits for the server to act: generous, never asserted on


@pytest.fixture(scope="module")
def edge_settings(database_url: URL) -> Settings:
    return settings_for(
        database_url,
        http_header_timeout_seconds=TIMEOUT_SECONDS,
        http_body_timeout_seconds=TIMEOUT_SECONDS,
        http_keep_alive_timeout_seconds=TIMEOUT_SECONDS,
    )


@pytest.fixture(scope="module")
def edge(edge_settings: Settings) -> Iterator[tuple[str, int]]:
    """The app under uvicorn with `serve`'s edge options; yields (host, port)."""
    port = free_port()
    config = uvicorn.Config(
        create_app(edge_settings),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        **server_options(edge_settings),
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + PATIENCE_SECONDS
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    yield "127.0.0.1", port
    server.should_exit = True
    thread.join(timeout=10)


def connect(edge: tuple[str, int]) -> socket.socket:
    return socket.create_connection(edge, timeout=PATIENCE_SECONDS)


def send_quietly(connection: socket.socket, data: bytes) -> None:
    """Send, ignoring a server that has already answered and closed."""
    with contextlib.suppress(OSError):
        connection.sendall(data)


def read_until_closed(connection: socket.socket) -> bytes:
    received = b""
    try:
        while chunk := connection.recv(65536):
            received += chunk
    except ConnectionResetError:
        pass
    return received


def exchange(edge: tuple[str, int], request: bytes) -> bytes:
    with connect(edge) as connection:
        send_quietly(connection, request)
        return read_until_closed(connection)


def status_of(response: bytes) -> int:
    return int(response.split(b" ", 2)[1])


def problem_of(response: bytes) -> dict[str, object]:
    head, _, body = response.partition(b"\r\n\r\n")
    assert b"content-type: application/problem+json" in head.lower()
    problem: dict[str, object] = orjson.loads(body)
    return problem


def get_with_headers(path: str, headers: list[tuple[str, str]]) -> bytes:
    lines = "".join(f"{name}: {value}\r\n" for name, value in headers)
    return f"GET {path} HTTP/1.1\r\n{lines}Connection: close\r\n\r\n".encode()


def header_block_of(size: int) -> list[tuple[str, str]]:
    """Headers whose block (each name, value, ": " and CRLF; Connection: close included) is
    exactly ``size`` bytes."""
    fixed = [("Host", "edge"), ("Connection", "close")]
    used = sum(len(name) + len(value) + 4 for name, value in fixed)
    padding = size - used - len("X-Padding") - 4
    return [("Host", "edge"), ("X-Padding", "p" * padding)]


class TestHeaderBlockLimit:
    def test_a_header_block_of_exactly_the_limit_is_served(self, edge: tuple[str, int]) -> None:
        response = exchange(edge, get_with_headers("/health", header_block_of(MAX_HEADER_BYTES)))

        assert status_of(response) == 200

    def test_one_byte_more_is_431(self, edge: tuple[str, int]) -> None:
        response = exchange(edge, get_with_headers("/health", header_block_of(MAX_HEADER_BYTES + 1)))

        assert status_of(response) == 431
        assert problem_of(response)["type"] == "/problems/request-header-fields-too-large"

    def test_ten_thousand_headers_are_431(self, edge: tuple[str, int]) -> None:
        headers = [("Host", "edge")] + [(f"X-{number}", "1") for number in range(10_000)]

        assert status_of(exchange(edge, get_with_headers("/health", headers))) == 431

    def test_a_huge_header_is_refused_without_reading_it_all(self, edge: tuple[str, int]) -> None:
        with connect(edge) as connection:
            send_quietly(connection, b"GET /health HTTP/1.1\r\nHost: edge\r\nX-Huge: ")
            for _ in range(800):  # up to 50 MB, 64 KiB at a time; the server stops us early
                try:
                    connection.sendall(b"h" * 65536)
                except OSError:
                    break
            response = read_until_closed(connection)

        assert status_of(response) == 431


class TestRequestLineLimit:
    def test_a_target_of_exactly_the_limit_reaches_the_app(self, edge: tuple[str, int]) -> None:
        path = "/" + "a" * (MAX_URL_BYTES - 1)
        response = exchange(edge, get_with_headers(path, [("Host", "edge")]))

        assert status_of(response) == 404
        assert problem_of(response)["type"] == "/problems/not-found"

    def test_one_byte_more_is_414(self, edge: tuple[str, int]) -> None:
        path = "/health?" + "q" * (MAX_URL_BYTES + 1 - len("/health?"))
        response = exchange(edge, get_with_headers(path, [("Host", "edge")]))

        assert status_of(response) == 414
        assert problem_of(response)["type"] == "/problems/uri-too-long"


class TestSlowAndIdleClients:
    def test_a_connection_that_sends_nothing_is_closed(self, edge: tuple[str, int]) -> None:
        with connect(edge) as connection:
            assert read_until_closed(connection) == b""

    def test_half_a_request_line_gets_408_and_is_closed(self, edge: tuple[str, int]) -> None:
        response = exchange(edge, b"GET /hea")

        assert status_of(response) == 408
        assert problem_of(response)["type"] == "/problems/request-timeout"

    def test_headers_trickling_in_get_408(self, edge: tuple[str, int]) -> None:
        with connect(edge) as connection:
            send_quietly(connection, b"GET /health HTTP/1.1\r\n")
            for number in range(100):  # bounded: at most 100 x 0.2 s
                try:
                    connection.sendall(f"X-Slow-{number}: 1\r\n".encode())
                except OSError:
                    break
                time.sleep(0.2)
                connection.setblocking(False)
                try:
                    if connection.recv(1, socket.MSG_PEEK):
                        break
                except BlockingIOError:
                    pass
                finally:
                    connection.setblocking(True)
            response = read_until_closed(connection)

        assert status_of(response) == 408

    def test_a_trickling_body_is_cut_off_with_an_info_line(
        self, edge: tuple[str, int], caplog: pytest.LogCaptureFixture
    ) -> None:
        with caplog.at_level(logging.INFO), connect(edge) as connection:
            send_quietly(
                connection,
                b"POST /api/users HTTP/1.1\r\nHost: edge\r\nContent-Type: application/json\r\n"
                b"Content-Length: 1000\r\n\r\n{",
            )
            answer = read_until_closed(connection)
            deadline = time.monotonic() + PATIENCE_SECONDS
            while "left before sending the whole body" not in caplog.text and time.monotonic() < deadline:
                time.sleep(0.05)

        assert answer == b""
        assert "left before sending the whole body" in caplog.text
        assert [record for record in caplog.records if record.levelno >= logging.WARNING] == []

    def test_an_idle_keep_alive_connection_is_closed(self, edge: tuple[str, int]) -> None:
        with connect(edge) as connection:
            connection.sendall(b"GET /health HTTP/1.1\r\nHost: edge\r\n\r\n")
            response = read_until_closed(connection)

        assert status_of(response) == 200

    def test_slow_clients_do_not_hold_up_others(self, edge: tuple[str, int]) -> None:
        slow = [connect(edge) for _ in range(100)]
        try:
            for connection in slow:
                send_quietly(connection, b"GET /health HTTP/1.1\r\nHost: ed")
            response = httpx.get(f"http://{edge[0]}:{edge[1]}/health", timeout=PATIENCE_SECONDS)
        finally:
            for connection in slow:
                connection.close()

        assert response.status_code == 200


class TestUpgrades:
    def test_an_unsupported_upgrade_request_is_served_as_a_plain_request(self, edge: tuple[str, int]) -> None:
        headers = [("Host", "edge"), ("Connection", "Upgrade, HTTP2-Settings"), ("Upgrade", "h2c")]
        headers.append(("HTTP2-Settings", "AAMAAABkAARAAAAAAAIAAAAA"))

        assert status_of(exchange(edge, get_with_headers("/health", headers))) == 200


class TestServeUsesTheEdge:
    def test_the_server_options_load_the_bounded_protocol(self, edge_settings: Settings) -> None:
        config = uvicorn.Config("tasks_api.app:create_app_from_environment", **server_options(edge_settings))
        config.load()

        assert config.http_protocol_class is BoundedHttpToolsProtocol
        assert config.timeout_keep_alive == TIMEOUT_SECONDS


class TestUvicornInternalsWeRelyOn:
    """If one of these fails after a uvicorn upgrade, revisit tasks_api/http_edge.py."""

    def test_the_overridden_methods_still_exist_with_the_same_shape(self) -> None:
        shapes = {
            "__init__": ["self", "config", "server_state", "app_state", "_loop"],
            "connection_made": ["self", "transport"],
            "connection_lost": ["self", "exc"],
            "data_received": ["self", "data"],
            "on_message_begin": ["self"],
            "on_url": ["self", "url"],
            "on_header": ["self", "name", "value"],
            "on_headers_complete": ["self"],
            "on_message_complete": ["self"],
            "send_400_response": ["self", "msg"],
            "_unset_keepalive_if_required": ["self"],
            "_should_upgrade": ["self"],
            "handle_websocket_upgrade": ["self"],
            "_unsupported_upgrade_warning": ["self"],
        }
        for name, parameters in shapes.items():
            assert list(inspect.signature(getattr(HttpToolsProtocol, name)).parameters) == parameters, name
