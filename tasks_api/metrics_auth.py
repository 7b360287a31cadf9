"""The scrape token's check (``x-bearerInfoFunc`` of the contract's ``metricsToken`` scheme)."""

from __future__ import annotations

import hmac
from typing import Any

from connexion.exceptions import OAuthProblem
from connexion.lifecycle import ConnexionRequest

from tasks_api.services import services_of


def metrics_token_info(token: str, request: ConnexionRequest) -> dict[str, Any]:
    expected = services_of(request.state).metrics_token
    # Constant-time, and never true while no token is configured: metrics are not public by default.
    if expected is None or not hmac.compare_digest(token.encode(), expected.encode()):
        raise OAuthProblem(detail="This endpoint needs the metrics token (TASKS_API_METRICS_TOKEN).")
    return {"scope": "metrics"}
