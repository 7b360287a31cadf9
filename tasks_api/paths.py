"""Where the contract and the migrations live: beside this package, at the project's top level."""

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SPEC_PATH = PROJECT_ROOT / "openapi" / "tasks-api.yaml"
MIGRATIONS_DIR = PROJECT_ROOT / "migrations"
