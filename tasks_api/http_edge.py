"""The HTTP edge: what the server itself refuses before the app sees a request.

uvicorn with httptools (the fastest of its parsers, measured in docs/performance.md) bounds
nothing in a request head and drops no slow client: httptools buffers a header of any size, and a
connection that sends half a request line is kept for ever. ``BoundedHttpToolsProtocol`` adds the
bounds, each answered as application/problem+json with ``Connection: close``:

* request line (method, target, version) over ``max_url_bytes`` -> 414;
* header block over ``max_header_bytes`` -> 431 (counted as it arrives, so a 50 MB header costs
  at most one socket read of memory);
* a request head not complete ``header_timeout_seconds`` after the connection opened or the
  previous response ended -> 408 if some of it came, else the connection is just closed;
* a body not complete ``body_timeout_seconds`` after its head -> the connection is closed (the
  app then sees a client that left, an info line).

Idle keep-alive connections are closed by uvicorn's own ``timeout_keep_alive``. Body size is the
app's business (``tasks_api.openapi31``: 413 at one byte over the limit, chunked or not).

uvicorn internals touched (``HttpToolsProtocol``: ``__init__``'s arguments, ``data_received``,
``connection_made``, ``on_message_begin``, ``on_url``, ``on_header``, ``on_headers_complete``,
``on_message_complete``, ``connection_lost``, ``send_400_response``, ``_should_upgrade``,
``handle_websocket_upgrade``, ``_unsupported_upgrade_warning``, ``logger``, ``client``,
``_unset_keepalive_if_required``, ``parser``, ``transport``) are guarded by
tests/test_http_edge.py. The limits travel from ``create_app`` through the lifespan state, which
uvicorn hands every protocol as ``app_state``: each worker process reads its own.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import httptools
import orjson
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from tasks_api.settings import Settings

logger = logging.getLogger(__name__)

HTTP_LIMITS_STATE_KEY = "http_limits"
# Room for the method, the HTTP version and line ends around the URL and the header lines.
_HEAD_FRAMING_BYTES = 1024


@dataclass(frozen=True)
class HttpLimits:
    max_url_bytes: int = 8192
    max_header_bytes: int = 16 * 1024
    header_timeout_seconds: float = 10.0
    body_timeout_seconds: float = 30.0
    keep_alive_timeout_seconds: int = 5

    @classmethod
    def from_settings(cls, settings: Settings) -> HttpLimits:
        return cls(
            max_url_bytes=settings.http_max_url_bytes,
            max_header_bytes=settings.http_max_header_bytes,
            header_timeout_seconds=settings.http_header_timeout_seconds,
            body_timeout_seconds=settings.http_body_timeout_seconds,
            keep_alive_timeout_seconds=settings.http_keep_alive_timeout_seconds,
        )


def server_options(settings: Settings) -> dict[str, Any]:
    """uvicorn options for the edge (``uvicorn.run(..., **server_options(settings))``)."""
    return {
        "http": "tasks_api.http_edge:BoundedHttpToolsProtocol",
        "timeout_keep_alive": settings.http_keep_alive_timeout_seconds,
    }


class _Refused(Exception):
    def __init__(self, status: HTTPStatus, slug: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.slug, self.detail = status, slug, detail


def problem_response(status: HTTPStatus, slug: str, detail: str) -> bytes:
    """A complete HTTP/1.1 problem+json response that closes the connection."""
    body = orjson.dumps(
        {"type": f"/problems/{slug}", "title": status.phrase, "status": status.value, "detail": detail}
    )
    head = (
        f"HTTP/1.1 {status.value} {status.phrase}\r\n"
        "content-type: application/problem+json\r\n"
        f"content-length: {len(body)}\r\n"
        f"x-request-id: {uuid.uuid4().hex}\r\n"
        "connection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.limits: HttpLimits = app_state.get(HTTP_LIMITS_STATE_KEY) or HttpLimits()
        self._max_head_bytes = self.limits.max_url_bytes + self.limits.max_header_bytes + _HEAD_FRAMING_BYTES
        self._deadline: asyncio.TimerHandle | None = None
        self._refused = False
        self._expect_head()

    def _expect_head(self) -> None:
        """What arrives next is a new request head: count it afresh."""
        self._in_head = True
        self._head_bytes = self._url_bytes = self._header_bytes = 0

    def _set_deadline(self, seconds: float, callback: Any) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
        self._deadline = self.loop.call_later(seconds, callback)

    def _clear_deadline(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._set_deadline(self.limits.header_timeout_seconds, self._head_too_slow)

    def connection_lost(self, exc: Exception | None) -> None:
        self._clear_deadline()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        self._unset_keepalive_if_required()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserCallbackError as error:
            if not isinstance(error.__context__, _Refused):
                raise
            self._refuse(error.__context__)
            return
        except httptools.HttpParserError:
            self.logger.info("Invalid HTTP request received.")
            self.send_400_response("Invalid HTTP request received.")
            return
        except httptools.HttpParserUpgrade:  # as uvicorn does (e.g. curl --http2 asks for h2c)
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
        if self._in_head:
            # Still inside a head: everything read so far belongs to it (httptools holds it).
            self._head_bytes += len(data)
            if self._head_bytes > self._max_head_bytes:
                self._refuse(_too_large_head(self.limits))

    def _refuse(self, refusal: _Refused) -> None:
        self._refused = True
        self._clear_deadline()
        client = f"{self.client[0]}:{self.client[1]}" if self.client else "a client"
        logger.info("refused %s from %s: %s", refusal.status.value, client, refusal.detail)
        if not self.transport.is_closing():
            self.transport.write(problem_response(refusal.status, refusal.slug, refusal.detail))
            self.transport.close()

    def _head_too_slow(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        if self._head_bytes or self._url_bytes:
            seconds = self.limits.header_timeout_seconds
            self._refuse(
                _Refused(
                    HTTPStatus.REQUEST_TIMEOUT, "request-timeout", f"The request head took over {seconds} s."
                )
            )
        else:
            self.transport.close()  # an idle connection: nobody to answer

    def _body_too_slow(self) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            logger.info("closed a connection whose body took over %s s", self.limits.body_timeout_seconds)
            self.transport.close()

    # Parser callbacks
    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._deadline is None:  # a head after a response: the keep-alive wait is over
            self._set_deadline(self.limits.header_timeout_seconds, self._head_too_slow)

    def on_url(self, url: bytes) -> None:
        self._url_bytes += len(url)
        if self._url_bytes > self.limits.max_url_bytes:
            raise _Refused(
                HTTPStatus.REQUEST_URI_TOO_LONG,
                "uri-too-long",
                f"The request target is over {self.limits.max_url_bytes} bytes.",
            )
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_bytes += len(name) + len(value) + 4  # ": " and CRLF, as sent
        if self._header_bytes > self.limits.max_header_bytes:
            raise _too_large_head(self.limits)
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._set_deadline(self.limits.body_timeout_seconds, self._body_too_slow)
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._clear_deadline()  # the app has the whole request; uvicorn's keep-alive takes over
        self._expect_head()


def _too_large_head(limits: HttpLimits) -> _Refused:
    return _Refused(
        HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE,
        "request-header-fields-too-large",
        f"The request headers are over {limits.max_header_bytes} bytes.",
    )
