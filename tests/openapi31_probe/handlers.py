from __future__ import annotations

from typing import Any


def echo(body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    return body, 200


def count(count: int) -> tuple[dict[str, Any], int]:
    return {"count": count}, 200


def broken_response() -> tuple[dict[str, Any], int]:
    return {"count": 0, "kind": "probe"}, 200  # count must be > 0
