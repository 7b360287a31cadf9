"""Shapes the contract keeps by convention, checked so that an addition cannot drift from them."""

from __future__ import annotations

import pytest

from tasks_api.contract import Contract
from tasks_api.paths import SPEC_PATH

SCHEMAS = Contract.load(SPEC_PATH).document["components"]["schemas"]
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
