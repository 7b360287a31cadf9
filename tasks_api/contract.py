"""The contract as served: the YAML exactly as written, and the same document as JSON."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


@dataclass(frozen=True)
class Contract:
    yaml_text: str
    document: dict[str, Any]

    @classmethod
    def load(cls, path: Path) -> Contract:
        text = path.read_text(encoding="utf-8")
        return cls(yaml_text=text, document=yaml.safe_load(text))
