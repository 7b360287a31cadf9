"""The contract as served: the YAML exactly as written, and the same document as JSON."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from starlette.routing import compile_path

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


@dataclass(frozen=True)
class Contract:
    yaml_text: str
    document: dict[str, Any]
    _routes: list[tuple[re.Pattern[str], list[str]]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        routes = []
        for template, item in self.document.get("paths", {}).items():
            methods = {method.upper() for method in item if method in HTTP_METHODS}
            if "GET" in methods:
                methods.add("HEAD")
            routes.append((compile_path(template)[0], sorted(methods)))
        object.__setattr__(self, "_routes", routes)

    def allowed_methods(self, path: str) -> list[str]:
        """The methods the contract declares for a concrete request path (for ``Allow``)."""
        return sorted(
            {method for pattern, methods in self._routes if pattern.match(path) for method in methods}
        )

    @classmethod
    def load(cls, path: Path) -> Contract:
        """The contract in ``path``, parsed once per text in a process (0.2 s each time): every
        caller shares it, so its document is read, and copied to be changed."""
        return _parsed(path.read_text(encoding="utf-8"))


@functools.lru_cache(maxsize=2)
def _parsed(text: str) -> Contract:
    # libyaml's safe loader (PyYAML's wheels carry it): the same document, ~10x faster than the
    # pure-Python one, which took 1.3 s of every worker's start.
    return Contract(yaml_text=text, document=yaml.load(text, Loader=yaml.CSafeLoader))
