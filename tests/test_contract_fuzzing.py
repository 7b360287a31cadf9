"""Schemathesis fuzzes the running service against its own contract: every check, every phase.

Two identities ("alice" and "bob", each with a real bearer token) let the ``ignored_auth`` and
``object_level_authorization`` checks try every operation without, and with the other's, token.
Generation settings live in schemathesis.toml.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
import sqlalchemy as sa
import yaml
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.schemas import OpenApiSchema

from tasks_api.auth import TokenIssuer
from tests.conftest import enroll, truncate_every_table

contract = schemathesis.pytest.from_fixture("contract_under_test")
IDENTITIES = ("alice", "bob")


def restore_identities(engine: sa.Engine) -> None:
    """alice and bob exist with their tokens valid: a fuzzed sign-out or account deletion must not
    leave every later case answering 401."""
    for user in IDENTITIES:
        enroll(engine, user)
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE users SET tokens_valid_after = NULL"))


def identities_file(directory: Path, issuer: TokenIssuer) -> Path:
    """A Web Fuzzing Commons auth document: one fixed bearer token per identity."""
    document = {
        "auth": [
            {
                "name": user,
                "fixedHeaders": [
                    {"name": "Authorization", "value": f"Bearer {issuer.issue(user)['access_token']}"}
                ],
            }
            for user in IDENTITIES
        ]
    }
    path = directory / "identities.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


# The CLI run in CI (.ci/live-fuzz) does the full 100 examples per operation against the served
# app; here, on every `pytest`, fewer keep the suite quick.
EXAMPLES_PER_OPERATION = 30


@pytest.fixture(scope="session")
def contract_under_test(
    live_server: str, token_issuer: TokenIssuer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OpenApiSchema]:
    identities = identities_file(tmp_path_factory.mktemp("fuzzing"), token_issuer)
    with pytest.MonkeyPatch.context() as environment:
        # schemathesis.toml reads the identities and alice's id from these.
        environment.setenv("TASKS_API_FUZZ_IDENTITIES", str(identities))
        environment.setenv("TASKS_API_FUZZ_USER_ID", "alice")
        config = SchemathesisConfig.discover()
        config.projects.default.update(base_url=live_server)
        config.projects.default.generation.update(max_examples=EXAMPLES_PER_OPERATION)
        yield schemathesis.openapi.from_url(f"{live_server}/openapi.json", config=config)


@contract.parametrize()
def test_every_operation_honours_the_contract(case: schemathesis.Case[Any], engine: sa.Engine) -> None:
    restore_identities(engine)
    case.call_and_validate()


def test_task_lifecycles_honour_the_contract(contract_under_test: OpenApiSchema, engine: sa.Engine) -> None:
    class TaskLifecycles(contract_under_test.as_state_machine()):  # type: ignore[misc]
        def setup(self) -> None:
            # Each sequence starts from an empty database, so that replaying a sequence (as
            # Hypothesis does while it explores and shrinks) sees the same responses again.
            with engine.begin() as connection:
                connection.execute(truncate_every_table())
            restore_identities(engine)

    TaskLifecycles.run()
