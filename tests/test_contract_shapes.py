"""Shapes the contract keeps by convention, checked so that an addition cannot drift from them."""

from __future__ import annotations

from typing import Any

import pytest

from tasks_api.contract import HTTP_METHODS, Contract
from tasks_api.paths import SPEC_PATH

DOCUMENT = Contract.load(SPEC_PATH).document
SCHEMAS = DOCUMENT["components"]["schemas"]
MERGE_PATCHES = sorted(name for name in SCHEMAS if name.endswith("MergePatch"))


def test_every_update_has_its_merge_patch() -> None:
    updates = sorted(name.removesuffix("Update") for name in SCHEMAS if name.endswith("Update"))

    assert [name.removesuffix("MergePatch") for name in MERGE_PATCHES] == updates


@pytest.mark.parametrize("merge_patch", MERGE_PATCHES)
def test_a_merge_patch_takes_exactly_the_fields_of_its_update(merge_patch: str) -> None:
    """Both media types of a PATCH body have their own schema (for SDK generators), so a field
    added to one must be added to the other."""
    update = SCHEMAS[merge_patch.removesuffix("MergePatch") + "Update"]

    assert SCHEMAS[merge_patch]["properties"] == update["properties"]


OPERATIONS = sorted(
    (operation["operationId"], operation)
    for item in DOCUMENT["paths"].values()
    for method, operation in item.items()
    if method in HTTP_METHODS
)
# What the HTTP edge answers for any request before it is routed (tasks_api/http_edge.py).
EDGE_RESPONSES = {"408": "RequestTimeout", "414": "UriTooLong", "431": "RequestHeaderFieldsTooLarge"}


@pytest.mark.parametrize(("operation_id", "operation"), OPERATIONS, ids=[name for name, _ in OPERATIONS])
def test_every_operation_declares_what_the_http_edge_may_answer(
    operation_id: str, operation: dict[str, Any]
) -> None:
    declared = {
        status: operation["responses"].get(status, {}).get("$ref", "").rsplit("/", 1)[-1]
        for status in EDGE_RESPONSES
    }

    assert declared == EDGE_RESPONSES
