"""Who may do what: bearer tokens on every task operation, an attack battery, identity providers.

The identity provider is Better Auth-shaped: EdDSA tokens (plus RS256 and ES256 keys), its JWKS
served by a local HTTP server at ``{BETTER_AUTH_URL}/api/auth/jwks``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import jwt
import pytest
import sqlalchemy as sa
import uvicorn
from sqlalchemy.engine import URL
from starlette.testclient import TestClient

from tasks_api.app import create_app
from tasks_api.auth import TokenIssuer
from tests.api.helpers import (
    ApiClient,
    ContractOperation,
    assert_problem,
    create_task,
    owner_scoped_operations,
    task_url,
    tasks_url,
)
from tests.conftest import TEST_JWT_SECRET, enroll, free_port, settings_for
from tests.identity_provider import IdentityProvider, b64url

OWNER_SCOPED = owner_scoped_operations()
ON_ONE_TASK = [operation for operation in OWNER_SCOPED if "{task_id}" in operation.path]


def assert_unauthorized(response: httpx.Response) -> None:
    assert_problem(response, 401, "unauthorized")
    assert response.headers["www-authenticate"].startswith('Bearer realm="tasks-api", error="invalid_token"')


def assert_challenged(response: httpx.Response) -> None:
    """RFC 6750 section 3.1: no credentials sent, so no error code in the challenge."""
    assert_problem(response, 401, "unauthorized")
    assert response.headers["www-authenticate"] == 'Bearer realm="tasks-api"'


class TestEveryOwnerScopedOperation:
    @pytest.mark.parametrize("operation", OWNER_SCOPED, ids=str)
    def test_needs_a_token(self, client: ApiClient, operation: ContractOperation) -> None:
        task = create_task(client)

        response = operation.send(client.anonymous(), operation.url("alice", task_id=task["id"]))

        assert_challenged(response)

    @pytest.mark.parametrize("operation", OWNER_SCOPED, ids=str)
    def test_refuses_a_bad_token(self, client: ApiClient, operation: ContractOperation) -> None:
        task = create_task(client)
        url = operation.url("alice", task_id=task["id"])

        response = operation.send(client.with_token("not-a-token"), url)

        assert_unauthorized(response)

    @pytest.mark.parametrize("operation", OWNER_SCOPED, ids=str)
    def test_refuses_another_users_path_with_403(
        self, client: ApiClient, operation: ContractOperation
    ) -> None:
        theirs = create_task(client, "bob")

        response = operation.send(client, operation.url("bob", task_id=theirs["id"]))

        assert_problem(response, 403, "forbidden")
        assert client.as_user("bob").get(tasks_url("bob")).json()["items"] == [theirs]

    @pytest.mark.parametrize("operation", ON_ONE_TASK, ids=str)
    def test_hides_another_users_task_behind_404(
        self, client: ApiClient, operation: ContractOperation
    ) -> None:
        theirs = create_task(client, "bob")

        response = operation.send(client, operation.url("alice", task_id=theirs["id"]))

        assert_problem(response, 404, "not-found")
        assert client.as_user("bob").get(task_url(theirs["id"], "bob")).json() == theirs

    def test_a_users_list_never_shows_anothers_tasks(self, client: ApiClient) -> None:
        mine = create_task(client, "alice")
        create_task(client, "bob")

        assert client.get(tasks_url("alice")).json()["items"] == [mine]


@pytest.fixture(scope="module")
def idp_app_settings(database_url: URL, identity_provider: IdentityProvider) -> Any:
    return settings_for(
        database_url,
        BETTER_AUTH_URL=identity_provider.url,
        JWKS_ALGORITHMS="EdDSA,RS256,ES256",
        JWKS_REFETCH_COOLDOWN_SECONDS=0,  # a rotated key is fetched at once
    )


@pytest.fixture(scope="module")
def idp_client(idp_app_settings: Any) -> Iterator[TestClient]:
    with TestClient(create_app(idp_app_settings)) as client:
        yield client


def me(client: TestClient, token: str) -> httpx.Response:
    response: httpx.Response = client.get("/api/users/me", headers={"Authorization": f"Bearer {token}"})
    return response


class TestIdentityProviderTokens:
    def test_a_better_auth_eddsa_token_becomes_a_user(
        self, idp_client: TestClient, identity_provider: IdentityProvider, database_url: URL
    ) -> None:
        response = me(idp_client, identity_provider.token())

        assert response.status_code == 200
        body = response.json()
        assert (body["id"], body["email"], body["name"]) == ("ba_user_1", "grace@example.com", "Grace Hopper")

    @pytest.mark.parametrize("kid", ["rsa-1", "ec-1"])
    def test_rs256_and_es256_keys_work_too(
        self, idp_client: TestClient, identity_provider: IdentityProvider, kid: str, database_url: URL
    ) -> None:
        assert me(idp_client, identity_provider.token(kid, sub=f"user-{kid}")).status_code == 200

    def test_the_subject_reaches_only_its_own_tasks(
        self, idp_client: TestClient, identity_provider: IdentityProvider, database_url: URL
    ) -> None:
        headers = {"Authorization": f"Bearer {identity_provider.token()}"}

        created = idp_client.post("/api/ba_user_1/tasks", json={"title": "x"}, headers=headers)
        elsewhere = idp_client.get("/api/alice/tasks", headers=headers)

        assert created.status_code == 201
        assert_problem(elsewhere, 403, "forbidden")

    def test_built_in_tokens_still_work_beside_the_provider(
        self, idp_client: TestClient, token_issuer: TokenIssuer, database_url: URL
    ) -> None:
        assert me(idp_client, token_issuer.issue("alice")["access_token"]).status_code == 200

    def test_a_rotated_key_is_fetched_when_its_kid_first_appears(
        self, idp_client: TestClient, identity_provider: IdentityProvider, database_url: URL
    ) -> None:
        assert me(idp_client, identity_provider.token()).status_code == 200
        fetches = identity_provider.fetches
        identity_provider.add_key("ed-2", "EdDSA")

        assert me(idp_client, identity_provider.token("ed-2")).status_code == 200
        assert identity_provider.fetches == fetches + 1
        assert me(idp_client, identity_provider.token("ed-2")).status_code == 200
        assert identity_provider.fetches == fetches + 1  # cached from then on


class TestAttacks:
    """Every one of these is a 401 problem with a Bearer challenge, never a 500."""

    @pytest.fixture
    def valid(self, identity_provider: IdentityProvider) -> str:
        return identity_provider.token()

    def forged(self, identity_provider: IdentityProvider) -> dict[str, str]:
        now = int(time.time())
        claims = {
            "sub": "ba_user_1",
            "iat": now,
            "exp": now + 900,
            "iss": identity_provider.url,
            "aud": identity_provider.url,
        }
        header_none = b64url(json.dumps({"alg": "none", "typ": "JWT"}).encode())
        body = b64url(json.dumps(claims).encode())
        header_hs = b64url(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "ed-1"}).encode())
        signing_input = f"{header_hs}.{body}".encode()
        # The classic confusion: HMAC keyed with the provider's *public* key, which anyone can fetch.
        confused = hmac.new(identity_provider.public_pem("rsa-1"), signing_input, hashlib.sha256).digest()
        return {
            "alg none": f"{header_none}.{body}.",
            "HS256 keyed with the public key": f"{header_hs}.{body}.{b64url(confused)}",
        }

    @pytest.mark.parametrize("attack", ["alg none", "HS256 keyed with the public key"])
    def test_forged_algorithms(
        self, idp_client: TestClient, identity_provider: IdentityProvider, attack: str
    ) -> None:
        assert_unauthorized(me(idp_client, self.forged(identity_provider)[attack]))

    @pytest.mark.parametrize(
        ("claims", "reason"),
        [
            # Seconds from when the test runs, not from collection: a slow suite reached this
            # test more than 600 s after collecting it, and "not valid yet" was valid by then.
            ({"exp": -120}, "expired"),
            ({"nbf": +600}, "not valid yet"),
            ({"iss": "https://evil.example"}, "another issuer"),
            ({"aud": "https://evil.example"}, "another audience"),
            ({"exp": None}, "'exp'"),
            ({"sub": None}, "'sub'"),
        ],
    )
    def test_bad_claims(
        self, idp_client: TestClient, identity_provider: IdentityProvider, claims: dict[str, Any], reason: str
    ) -> None:
        now = int(time.time())
        claims = {
            name: now + value if name in {"exp", "nbf"} and isinstance(value, int) else value
            for name, value in claims.items()
        }
        response = me(idp_client, identity_provider.token(**claims))

        assert_unauthorized(response)
        assert reason in response.json()["detail"]

    def test_a_tampered_payload(self, idp_client: TestClient, valid: str) -> None:
        header, payload, signature = valid.split(".")
        claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
        tampered = b64url(json.dumps({**claims, "sub": "alice"}).encode())

        assert_unauthorized(me(idp_client, f"{header}.{tampered}.{signature}"))

    def test_an_unknown_kid(self, idp_client: TestClient, identity_provider: IdentityProvider) -> None:
        stranger = IdentityProvider(url=identity_provider.url)
        stranger.add_key("not-published", "EdDSA")

        response = me(idp_client, stranger.token("not-published"))

        assert_unauthorized(response)
        assert "signing key is unknown" in response.json()["detail"]

    def test_a_known_kid_signed_by_another_key(
        self, idp_client: TestClient, identity_provider: IdentityProvider
    ) -> None:
        impostor = IdentityProvider(url=identity_provider.url)
        impostor.add_key("ed-1", "EdDSA")  # same kid, different key

        assert_unauthorized(me(idp_client, impostor.token("ed-1")))

    def test_hs256_with_the_wrong_secret(
        self, idp_client: TestClient, idp_app_settings: Any, engine: sa.Engine
    ) -> None:
        now = int(time.time())
        claims = {"sub": "alice", "iat": now, "exp": now + 60, "iss": "tasks-api", "aud": "tasks-api"}
        typ = {"typ": "at+jwt"}
        token = jwt.encode(claims, "a different secret that is also long enough", "HS256", headers=typ)
        enroll(engine, "alice")

        assert_unauthorized(me(idp_client, token))
        assert me(idp_client, jwt.encode(claims, TEST_JWT_SECRET, "HS256", headers=typ)).status_code == 200

    @pytest.mark.parametrize(
        ("claims", "header", "reason"),
        [
            ({"iss": "https://evil.example"}, {"typ": "at+jwt"}, "another issuer"),
            ({"aud": "https://evil.example"}, {"typ": "at+jwt"}, "another audience"),
            ({"iss": None}, {"typ": "at+jwt"}, "'iss'"),
            ({"aud": None}, {"typ": "at+jwt"}, "'aud'"),
            ({}, {}, "at+jwt"),
            ({}, {"typ": "JWT"}, "at+jwt"),
            ({"exp": int(time.time()) + 10 * 365 * 86400}, {"typ": "at+jwt"}, "lives longer"),
        ],
    )
    def test_built_in_tokens_with_the_right_secret_but_wrong_claims(
        self,
        idp_client: TestClient,
        engine: sa.Engine,
        claims: dict[str, Any],
        header: dict[str, str],
        reason: str,
    ) -> None:
        """The secret alone is not enough: issuer, audience, type and lifetime are checked too."""
        now = int(time.time())
        payload = {
            "sub": "alice",
            "iat": now,
            "exp": now + 60,
            "iss": "tasks-api",
            "aud": "tasks-api",
            **claims,
        }
        token = jwt.encode(
            {k: v for k, v in payload.items() if v is not None}, TEST_JWT_SECRET, "HS256", headers=header
        )
        enroll(engine, "alice")

        response = me(idp_client, token)

        assert_unauthorized(response)
        assert reason in response.json()["detail"]

    @pytest.mark.parametrize(
        "authorization",
        [
            "Bearer",
            "Bearer ",
            "Bearer a.b.c",
            "Bearer \u00e9t\u00e9".encode("latin-1"),
            "Basic YWxpY2U6cHc=",
            "Bearer x y",
        ],
    )
    def test_malformed_headers(self, idp_client: TestClient, authorization: str | bytes) -> None:
        response = idp_client.get("/api/users/me", headers={"Authorization": authorization})

        assert_problem(response, 401, "unauthorized")


class TestKeyFetchingStaysOffTheEventLoop:
    def test_other_requests_are_served_while_a_jwks_fetch_hangs(
        self, idp_app_settings: Any, identity_provider: IdentityProvider, database_url: URL
    ) -> None:
        port = free_port()
        server = uvicorn.Server(
            uvicorn.Config(create_app(idp_app_settings), host="127.0.0.1", port=port, log_level="warning")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.02)
        base = f"http://127.0.0.1:{port}"
        identity_provider.add_key("ed-slow", "EdDSA")
        identity_provider.gate.clear()  # the provider stops answering
        try:
            with ThreadPoolExecutor(1) as pool:
                waiting = pool.submit(
                    httpx.get,
                    f"{base}/api/users/me",
                    headers={"Authorization": f"Bearer {identity_provider.token('ed-slow')}"},
                    timeout=30,
                )
                time.sleep(0.2)  # let that request reach the fetch
                health = httpx.get(f"{base}/health", timeout=5)
                assert not waiting.done()
                identity_provider.gate.set()
                assert waiting.result().status_code == 200
            assert health.status_code == 200
        finally:
            identity_provider.gate.set()
            server.should_exit = True
            thread.join(timeout=10)
