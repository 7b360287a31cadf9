"""Schemathesis fuzzes the running service against its own contract: every check, every phase.

Settings (generation mode, determinism, example counts) live in schemathesis.toml.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
import sqlalchemy as sa
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.schemas import OpenApiSchema

contract = schemathesis.pytest.from_fixture("contract_under_test")


@pytest.fixture(scope="session")
def contract_under_test(live_server: str) -> OpenApiSchema:
    config = SchemathesisConfig.discover()
    config.projects.get_default().update(base_url=live_server)
    return schemathesis.openapi.from_url(f"{live_server}/openapi.json", config=config)


@contract.parametrize()
def test_every_operation_honours_the_contract(case: schemathesis.Case[Any]) -> None:
    case.call_and_validate()


def test_task_lifecycles_honour_the_contract(contract_under_test: OpenApiSchema, engine: sa.Engine) -> None:
    class TaskLifecycles(contract_under_test.as_state_machine()):  # type: ignore[misc]
        def setup(self) -> None:
            # Each sequence starts from an empty database, so that replaying a sequence (as
            # Hypothesis does while it explores and shrinks) sees the same responses again.
            with engine.begin() as connection:
                connection.execute(sa.text("TRUNCATE users, tasks CASCADE"))

    TaskLifecycles.run()
