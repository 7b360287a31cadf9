"""Admission on the thread the request reaches anyway.

Connexion's bearer check (``tasks_api.auth.bearer_token_info``) runs on the event loop and only
verifies the token: it leaves the verified identity in the request's ``token_info``. Admission
(``models.user_admission``: the user found, a revoked token refused, the request counted against the
user's rate, a provider's user made) needs the database, so it waits for the worker thread the
request reaches next: the handler's, or, when validation refuses the request first, one the problem
renderer hands it to. One thread hand-off per request instead of two (an error rendered after the
handler raised it takes none: renderers run on the event loop), and one pooled connection: the one
that admitted the request is lent to its first unit of work (``Database.admitted``).
docs/performance.md has what each saved.

A list or search (``holds_a_listing_slot``) first takes one of its user's listing slots on the event
loop: a user past their bound is refused (429) before admission, without a thread or a connection,
so one user's flood of searches cannot queue everyone else's requests behind its refusals. Such a
refusal is not counted against the user's rate, and is told even to a revoked token, which learns
nothing from it.

The order of refusals is kept: a revoked token (401) or a user over their rate (429) is refused
before any validation problem is told, as when admission ran inside the bearer check. Each request
is admitted at most once: the identity is taken out of ``token_info`` before admission starts.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable, Iterator, Mapping, MutableMapping
from contextlib import ExitStack, contextmanager
from typing import Any, TypeVar

import anyio.to_thread
from connexion import request
from connexion.context import context
from connexion.exceptions import OAuthProblem
from connexion.lifecycle import ConnexionRequest, ConnexionResponse

from models.errors import RequestRateExceeded, TokenRevoked, TooManyConcurrentListings
from models.user_admission import Identity
from tasks_api.services import Services, services_of

IDENTITY = "identity"  # verified, not yet admitted
OWNER = "owner"  # admitted

_HOLDS_A_LISTING_SLOT = "_holds_a_listing_slot"

Handler = TypeVar("Handler", bound=Callable[..., Any])


def holds_a_listing_slot(handler: Handler) -> Handler:
    """Mark a list or search operation: it runs only while its user holds one of their listing
    slots (``models.fair_share.ListingSlots``), taken on the event loop before the request takes a
    worker thread, so a user's refused listings cost no thread, no admission and no connection."""
    setattr(handler, _HOLDS_A_LISTING_SLOT, True)
    return handler


def verified(identity: Identity) -> dict[str, Any]:
    """What the bearer check leaves for admission (``sub`` is what logs and metrics read)."""
    return {"sub": identity.subject, IDENTITY: identity}


def admit_pending(token_info: MutableMapping[str, Any] | None, services: Services) -> None:
    """Admit the request's verified identity, if one is pending (none: no bearer token, or already
    admitted), and return its connection to the pool. Raises a 401 ``OAuthProblem`` or
    ``RequestRateExceeded``."""
    with admission(token_info, services):
        pass


@contextmanager
def admission(token_info: MutableMapping[str, Any] | None, services: Services) -> Iterator[None]:
    """Admit the request's verified identity, if one is pending, for the block: the connection that
    admitted it is lent to the block's first unit of work (``Database.admitted``)."""
    with ExitStack() as held:
        if token_info is not None and (identity := token_info.pop(IDENTITY, None)) is not None:
            try:
                token_info[OWNER] = held.enter_context(services.database.admitted(identity))
            except TokenRevoked as error:
                raise OAuthProblem(detail=str(error)) from None
            except RequestRateExceeded as refusal:
                services.rate_refusals.remember((identity.issuer, identity.subject), refusal)
                raise
        yield


def _listing_holder(token_info: Mapping[str, Any] | None) -> tuple[str, str]:
    identity = (token_info or {}).get(IDENTITY)
    if not isinstance(identity, Identity):
        raise RuntimeError("a listing slot is held by a verified, not yet admitted, bearer")
    return identity.issuer, identity.subject


def admitted_first(handler: Callable[..., Any]) -> Callable[..., Any]:
    """``handler`` (a sync one) on a worker thread, admitting the request's user first on the same
    thread; a listing (``holds_a_listing_slot``) takes its user's slot before it takes the thread."""
    if inspect.iscoroutinefunction(handler):
        raise TypeError(f"{handler.__qualname__}: admission needs a sync handler (it blocks on the database)")

    @functools.wraps(handler)  # Connexion reads the handler's parameters through __wrapped__
    def admitted(*args: Any, **kwargs: Any) -> Any:
        with admission(context.get("token_info"), services_of(request.state)):
            return handler(*args, **kwargs)

    if not getattr(handler, _HOLDS_A_LISTING_SLOT, False):
        return admitted  # sync: Connexion hands it to a worker thread

    # Async, so Connexion awaits it on the event loop: the slot is taken before the thread.
    @functools.wraps(handler)
    async def on_a_worker_thread(*args: Any, **kwargs: Any) -> Any:
        token_info = context.get("token_info")
        with ExitStack() as held:
            try:
                held.enter_context(services_of(request.state).listing_slots.hold(_listing_holder(token_info)))
            except TooManyConcurrentListings:
                del token_info[IDENTITY]  # refused before admission: no thread, no connection
                raise
            return await anyio.to_thread.run_sync(functools.partial(admitted, *args, **kwargs))

    return on_a_worker_thread


Renderer = Callable[[ConnexionRequest, Exception], ConnexionResponse]
AsyncRenderer = Callable[[ConnexionRequest, Exception], Awaitable[ConnexionResponse]]


def refusals_first(renderers: Mapping[type[Exception], Renderer]) -> dict[type[Exception], AsyncRenderer]:
    """The app's error renderers, each first admitting a request still pending admission: one
    refused before its handler ran (a validation problem) whose token was verified. A revoked
    token or a user over their rate is then told that instead, in the same order as before.

    Rendering runs on the event loop (renderers only build a response); admission, which blocks on
    the database, on a worker thread.
    """

    def render_for(error: Exception) -> Renderer:
        kind = next(kind for kind in type(error).__mro__ if kind in renderers)  # Exception is always there
        return renderers[kind]

    def admitting_first(render: Renderer) -> AsyncRenderer:
        # Async: a problem is rendered on the event loop; only a pending admission takes a thread.
        @functools.wraps(render)
        async def render_after_admission(request: ConnexionRequest, error: Exception) -> ConnexionResponse:
            token_info = request.scope.get("extensions", {}).get("connexion_context", {}).get("token_info")
            if token_info is not None and IDENTITY in token_info:
                try:
                    await anyio.to_thread.run_sync(admit_pending, token_info, services_of(request.state))
                except Exception as refusal:  # rendered by its own renderer, as if the handler had raised it
                    return render_for(refusal)(request, refusal)
            return render(request, error)

        return render_after_admission

    if Exception not in renderers:
        raise ValueError("renderers must cover Exception")
    return {kind: admitting_first(render) for kind, render in renderers.items()}
