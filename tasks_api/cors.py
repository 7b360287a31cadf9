"""CORS for configured browser origins, with what the contract says each path allows.

Starlette's ``CORSMiddleware`` does the protocol; this module only feeds it the contract:
preflights allow the methods the contract declares on the requested path (one middleware per
distinct method set), the request headers the contract reads, and expose the response headers it
declares. It sits outside Connexion's exception handling, so error responses carry the headers too.
A preflight the policy refuses is answered as problem+json, like every other error.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson
from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tasks_api.contract import HTTP_METHODS, Contract

# Headers every request may carry whatever the operation: the bearer token (from the security
# scheme), the body's media type, and the request id that every response echoes.
ALWAYS_ALLOWED_REQUEST_HEADERS = ("Authorization", "Content-Type", "X-Request-ID")
PREFLIGHT_MAX_AGE_SECONDS = 600


def request_headers(document: dict[str, Any]) -> list[str]:
    """Every header parameter the contract declares, plus the ones every operation may send."""
    names = set(ALWAYS_ALLOWED_REQUEST_HEADERS)
    components = document.get("components", {}).get("parameters", {})
    for item in document.get("paths", {}).values():
        for operation in [item, *(item[method] for method in item if method in HTTP_METHODS)]:
            for declared in operation.get("parameters", []):
                parameter = (
                    components[declared["$ref"].rsplit("/", 1)[-1]] if "$ref" in declared else declared
                )
                if parameter.get("in") == "header":
                    names.add(parameter["name"])
    return sorted(names, key=str.lower)


def response_headers(document: dict[str, Any]) -> list[str]:
    """Every response header the contract declares: what a browser client may read."""
    names: set[str] = set()
    for item in document.get("paths", {}).values():
        for method in (method for method in item if method in HTTP_METHODS):
            for response in item[method].get("responses", {}).values():
                names.update(response.get("headers", {}))
    for response in document.get("components", {}).get("responses", {}).values():
        names.update(response.get("headers", {}))
    return sorted(names, key=str.lower)


class _ProblemRefusals(CORSMiddleware):
    """Starlette's refusal of a preflight is plain text; ours is problem+json like any error."""

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code == 200:
            return response
        body = {
            "type": "/problems/cors-preflight-refused",
            "title": "CORS preflight refused",
            "status": response.status_code,
            "detail": bytes(response.body).decode(),  # e.g. "Disallowed CORS method"
        }
        headers = {
            name: value
            for name, value in response.headers.items()
            if name.lower() not in {"content-length", "content-type"}
        }
        return Response(
            orjson.dumps(body), response.status_code, headers, media_type="application/problem+json"
        )


class ContractCORSMiddleware:
    def __init__(self, app: ASGIApp, *, contract: Contract, origins: Iterable[str]) -> None:
        self._app = app
        self._contract = contract
        self._options: dict[str, Any] = {
            "allow_origins": list(origins),
            "allow_headers": request_headers(contract.document),
            "expose_headers": response_headers(contract.document),
            "allow_credentials": False,  # bearer tokens, never cookies: nothing ambient to forge
            "max_age": PREFLIGHT_MAX_AGE_SECONDS,
        }
        self._by_methods: dict[tuple[str, ...], CORSMiddleware] = {}

    def _for_path(self, path: str) -> CORSMiddleware:
        methods = tuple(self._contract.allowed_methods(path))
        if methods not in self._by_methods:
            self._by_methods[methods] = _ProblemRefusals(self._app, allow_methods=methods, **self._options)
        return self._by_methods[methods]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return

        async def send_varying_by_origin(message: Message) -> None:
            # Every response, not only those to an allowed origin: a shared cache must never hand
            # a response made for one origin (or for none) to another.
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if "origin" not in headers.get("vary", "").lower():
                    headers.add_vary_header("Origin")
            await send(message)

        await self._for_path(scope["path"])(scope, receive, send_varying_by_origin)
