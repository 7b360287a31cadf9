"""Contract.load: the contract is parsed once per text in a process, and anew when it changes."""

from __future__ import annotations

from pathlib import Path

from tasks_api.contract import Contract
from tasks_api.paths import SPEC_PATH


def test_the_same_text_is_parsed_once() -> None:
    # Each worker's create_app parses it; serve parses it first, while the database starts.
    assert Contract.load(SPEC_PATH) is Contract.load(SPEC_PATH)


def test_a_changed_file_is_parsed_again(tmp_path: Path) -> None:
    contract = tmp_path / "contract.yaml"
    contract.write_text(SPEC_PATH.read_text())
    before = Contract.load(contract)

    contract.write_text(SPEC_PATH.read_text().replace("title: tasks-api", "title: tasks-api, changed", 1))

    assert Contract.load(contract).document["info"]["title"] == "tasks-api, changed"
    assert before.document["info"]["title"] == "tasks-api"
