"""Request bodies at their bounds, over real HTTP: size (declared or chunked), nesting, clients
that leave half-way. Every answer is a problem, never a 500, and nothing is half-written."""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tasks_api.auth import TokenIssuer
from tests.api.helpers import ApiClient, assert_problem, tasks_url

LIMIT = 1024 * 1024  # the default TASKS_API_MAX_BODY_BYTES, which the test app uses


def padded_task(size: int) -> bytes:
    """A valid task body of exactly ``size`` bytes (JSON allows any amount of trailing space)."""
    body = b'{"title": "Padded"}'
    return body + b" " * (size - len(body))


def nested(depth: int) -> bytes:
    return b'{"title": "deep", "description": ' + b"[" * depth + b"]" * depth + b"}"


@pytest.fixture
def alice(live_server: str, token_issuer: TokenIssuer, database_url: Any) -> Iterator[httpx.Client]:
    token = token_issuer.issue("alice")["access_token"]
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    with httpx.Client(base_url=live_server, headers=headers) as client:
        yield client


def raw_exchange(base_url: str, request: bytes, *, read_until_close: bool = True) -> bytes:
    """Send bytes on a fresh connection and read what comes back until the server closes it."""
    address = urlsplit(base_url)
    with socket.create_connection((address.hostname, address.port), timeout=30) as connection:
        connection.sendall(request)
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
            if not read_until_close and b"\r\n\r\n" in received:
                break
        return received


class TestBodySizeLimit:
    def test_a_body_of_exactly_the_limit_is_accepted(self, alice: httpx.Client) -> None:
        response = alice.post(tasks_url(), content=padded_task(LIMIT))

        assert response.status_code == 201, response.text

    def test_one_byte_more_is_413_and_nothing_is_stored(self, alice: httpx.Client) -> None:
        response = alice.post(tasks_url(), content=padded_task(LIMIT + 1))

        assert_problem(response, 413, "payload-too-large")
        assert response.headers["connection"] == "close"
        assert alice.get(tasks_url()).json()["items"] == []

    def test_a_chunked_body_is_accepted(self, alice: httpx.Client) -> None:
        # An iterator without a length makes httpx send Transfer-Encoding: chunked.
        response = alice.post(tasks_url(), content=iter([b'{"title": ', b'"Sent in chunks"}']))

        assert response.status_code == 201, response.text
        assert response.json()["title"] == "Sent in chunks"

    def test_a_chunked_body_of_exactly_the_limit_is_accepted(self, alice: httpx.Client) -> None:
        body = padded_task(LIMIT)
        chunks = (body[start : start + 65536] for start in range(0, LIMIT, 65536))

        assert alice.post(tasks_url(), content=chunks).status_code == 201

    def test_a_chunked_body_one_byte_over_is_413(self, alice: httpx.Client) -> None:
        body = padded_task(LIMIT + 1)
        chunks = (body[start : start + 65536] for start in range(0, LIMIT + 1, 65536))

        assert_problem(alice.post(tasks_url(), content=chunks), 413, "payload-too-large")
        assert alice.get(tasks_url()).json()["items"] == []

    def test_an_empty_chunked_body_is_400_not_500(self, alice: httpx.Client) -> None:
        assert_problem(alice.post(tasks_url(), content=iter([b""])), 400, "malformed-request")

    def test_a_declared_length_over_the_limit_is_refused_before_the_body_is_sent(
        self, live_server: str, token_issuer: TokenIssuer, database_url: Any
    ) -> None:
        token = token_issuer.issue("alice")["access_token"]
        head = (
            f"POST {tasks_url()} HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {LIMIT + 1}\r\n"
            "Expect: 100-continue\r\n\r\n"
        ).encode()

        answer = raw_exchange(live_server, head)

        assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
        assert b"100 Continue" not in answer


class TestNesting:
    @pytest.mark.parametrize("depth", [33, 256, 1000, 1025])
    def test_deep_nesting_is_400_on_task_bodies(self, alice: httpx.Client, depth: int) -> None:
        response = alice.post(tasks_url(), content=nested(depth))

        assert_problem(response, 400, "malformed-request")

    @pytest.mark.parametrize("path", ["/api/users", "/api/tokens"])
    def test_deep_nesting_is_400_without_a_token(self, live_server: str, path: str) -> None:
        body = b'{"email": ' + b"[" * 256 + b"]" * 256 + b"}"

        response = httpx.post(
            f"{live_server}{path}", content=body, headers={"Content-Type": "application/json"}
        )

        assert_problem(response, 400, "malformed-request")

    def test_shallow_nesting_still_gets_field_errors(self, client: ApiClient) -> None:
        response = client.post(tasks_url(), content=nested(31), headers={"Content-Type": "application/json"})

        assert_problem(response, 400, "validation-error")


class TestClientsThatLeave:
    def test_leaving_mid_body_is_an_info_line_not_an_error(
        self,
        live_server: str,
        token_issuer: TokenIssuer,
        client: ApiClient,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        token = token_issuer.issue("alice")["access_token"]
        head = (
            f"POST {tasks_url()} HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {token}\r\n"
            "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
        ).encode()
        address = urlsplit(live_server)
        with caplog.at_level(logging.INFO):
            with socket.create_connection((address.hostname, address.port), timeout=30) as connection:
                connection.sendall(head + b'{"title": "Half a task"}')
            deadline = time.monotonic() + 30
            while "left before sending the whole body" not in caplog.text and time.monotonic() < deadline:
                time.sleep(0.05)

        assert "left before sending the whole body" in caplog.text
        assert [record for record in caplog.records if record.levelno >= logging.WARNING] == []
        assert client.get(tasks_url()).json()["items"] == []
