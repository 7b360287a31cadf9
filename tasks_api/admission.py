"""Admission on the thread the request reaches anyway.

Connexion's bearer check (``tasks_api.auth.bearer_token_info``) runs on the event loop and only
verifies the token: it leaves the verified identity in the request's ``token_info``. Admission
(``models.user_admission``: the user found, a revoked token refused, the request counted against the
user's rate, a provider's user made) needs the database, so it waits for the worker thread the
request reaches next: the handler's, or, when validation refuses the request first, the problem
renderer's (Connexion runs sync error handlers on a thread). One thread hand-off per request instead
of two; docs/performance.md has what that saved.

The order of refusals is kept: a revoked token (401) or a user over their rate (429) is refused
before any validation problem is told, as when admission ran inside the bearer check. Each request
is admitted at most once: the identity is taken out of ``token_info`` before admission starts.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping, MutableMapping
from typing import Any

from connexion.context import context
from connexion.exceptions import OAuthProblem
from connexion.lifecycle import ConnexionRequest, ConnexionResponse

from models.errors import RequestRateExceeded, TokenRevoked
from models.user_admission import Identity
from tasks_api.lent_connections import lending
from tasks_api.openapi31 import request_context
from tasks_api.services import Services, current_services, services_of

IDENTITY = "identity"  # verified, not yet admitted
OWNER = "owner"  # admitted


def verified(identity: Identity) -> dict[str, Any]:
    """What the bearer check leaves for admission (``sub`` is what logs and metrics read)."""
    return {"sub": identity.subject, IDENTITY: identity}


def admit_pending(token_info: MutableMapping[str, Any] | None, services: Services) -> None:
    """Admit the request's verified identity, if one is pending (none: no bearer token, or already
    admitted). Raises a 401 ``OAuthProblem`` or ``RequestRateExceeded``."""
    if token_info is None or (identity := token_info.pop(IDENTITY, None)) is None:
        return
    try:
        token_info[OWNER] = services.database.admit(identity)
    except TokenRevoked as error:
        raise OAuthProblem(detail=str(error)) from None
    except RequestRateExceeded as refusal:
        services.rate_refusals.remember((identity.issuer, identity.subject), refusal)
        raise


def admitted_first(handler: Callable[..., Any]) -> Callable[..., Any]:
    """``handler`` (a sync one: Connexion runs it on a worker thread), admitting the request's
    user first on the same thread."""
    if inspect.iscoroutinefunction(handler):
        raise TypeError(f"{handler.__qualname__}: admission needs a sync handler (it blocks on the database)")

    @functools.wraps(handler)  # Connexion reads the handler's parameters through __wrapped__
    def admitted(*args: Any, **kwargs: Any) -> Any:
        with lending():  # admission's connection, for the handler's unit of work
            admit_pending(context.get("token_info"), current_services())
            return handler(*args, **kwargs)

    return admitted


Renderer = Callable[[ConnexionRequest, Exception], ConnexionResponse]


def refusals_first(renderers: Mapping[type[Exception], Renderer]) -> dict[type[Exception], Renderer]:
    """The app's error renderers, each first admitting a request still pending admission: one
    refused before its handler ran (a validation problem) whose token was verified. A revoked
    token or a user over their rate is then told that instead, in the same order as before.

    Connexion runs sync renderers on a worker thread, so admission blocks nothing here.
    """

    def render_for(error: Exception) -> Renderer:
        kind = next(kind for kind in type(error).__mro__ if kind in renderers)  # Exception is always there
        return renderers[kind]

    def admitting_first(render: Renderer) -> Renderer:
        @functools.wraps(render)
        def render_after_admission(request: ConnexionRequest, error: Exception) -> ConnexionResponse:
            _, connexion_context = request_context(request.scope)
            try:
                admit_pending(connexion_context.get("token_info"), services_of(request.state))
            except Exception as refusal:  # rendered by its own renderer, as if the handler had raised it
                return render_for(refusal)(request, refusal)
            return render(request, error)

        return render_after_admission

    if Exception not in renderers:
        raise ValueError("renderers must cover Exception")
    return {kind: admitting_first(render) for kind, render in renderers.items()}
