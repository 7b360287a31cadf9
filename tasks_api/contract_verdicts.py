"""OpenAPI documents found valid, remembered on disk so that a later process need not check again.

Checking the contract against the OpenAPI 3.1 rules costs 0.2 s of CPU at every start of every
worker, for a document that changes only with a release (docs/performance.md, Start-up). A valid
document leaves an empty file in the user's cache folder, named by a digest of the document and
of the versions of the libraries that checked it, as Python leaves bytecode: a process that finds
the file skips the check. An invalid document leaves nothing, so it fails at every start. A cache
folder that cannot be written costs only the check.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
from collections.abc import Mapping
from importlib.metadata import version
from pathlib import Path
from typing import Any

import orjson
import platformdirs

# The checker and what it checks with: a new version of any of them may judge differently.
CHECKING_PACKAGES = ("openapi-spec-validator", "openapi-schema-validator", "jsonschema", "jsonschema-path")
CACHE_FOLDER_NAME = "tasks-api"
VERDICTS_FOLDER_NAME = "valid-openapi-documents"


@functools.cache
def _checkers() -> bytes:
    return "\n".join(f"{package}=={version(package)}" for package in CHECKING_PACKAGES).encode()


def verdict_key(document: Mapping[str, Any]) -> str:
    """Equal for equal documents (whatever their keys' order) checked by the same libraries."""
    canonical = orjson.dumps(document, option=orjson.OPT_NON_STR_KEYS | orjson.OPT_SORT_KEYS)
    return hashlib.sha256(_checkers() + b"\n" + canonical).hexdigest()


def _verdicts_folder() -> Path:
    # At each call, not at import: where the cache is (XDG_CACHE_HOME on Linux) may change.
    return platformdirs.user_cache_path(CACHE_FOLDER_NAME) / VERDICTS_FOLDER_NAME


def found_valid_before(key: str) -> bool:
    return (_verdicts_folder() / key).is_file()


def remember_valid(key: str) -> None:
    with contextlib.suppress(OSError):  # a read-only home, a full disk: the next start checks again
        folder = _verdicts_folder()
        folder.mkdir(parents=True, exist_ok=True)
        (folder / key).touch()
