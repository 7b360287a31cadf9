"""Past the host's password-hashing capacity, the operations that hash are refused before Connexion
routes, authenticates and validates them.

With 200 registrations and sign-ins kept in flight (bench/sign_in_flood.py), each refusal had first
gone through routing, body validation and a hop to the worker's thread pool, where the flood's
refusals queued ahead of other users' requests: another user's list took 120 ms at the median.
Here a refusal costs one look at the slots, on the event loop. The look is advisory: a slot seen
free may be gone when the handler takes one, and the handler then refuses as before. Looking takes
and gives back a free slot within microseconds; a handler that tries that slot at that instant gets
the same 503 + Retry-After a busy host gives.
"""

from __future__ import annotations

from connexion.lifecycle import ConnexionRequest
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from models.errors import PasswordHashingBusy
from tasks_api.contract import HTTP_METHODS, Contract
from tasks_api.password_hashing import PasswordHashing
from tasks_api.problems import render_domain_error

# The operations whose handlers take a hashing slot (handlers/accounts.py); a guard test holds
# every one of them to the contract.
HASHING_OPERATIONS = frozenset({"registerUser", "createToken", "changePassword"})


def hashing_routes(contract: Contract) -> frozenset[tuple[str, str]]:
    """(method, path) of every hashing operation; none has a path parameter."""
    return frozenset(
        (method.upper(), path)
        for path, item in contract.document["paths"].items()
        for method, operation in item.items()
        if method in HTTP_METHODS and operation.get("operationId") in HASHING_OPERATIONS
    )


class PasswordHashingShedding:
    def __init__(self, app: ASGIApp, *, contract: Contract, hashing: PasswordHashing) -> None:
        self.app = app
        self._routes = hashing_routes(contract)
        self._hashing = hashing

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and (scope["method"], scope["path"]) in self._routes
            and not self._hashing.has_free_slot()
        ):
            problem = render_domain_error(ConnexionRequest(scope), PasswordHashingBusy())
            response = Response(problem.body, problem.status_code, problem.headers)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)
