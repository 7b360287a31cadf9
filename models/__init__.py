"""The data model. Importing the package loads every module in it, so every table is registered on
``SQLModel.metadata`` (for Alembic, the tests' cleanup, anything that needs the whole schema) without
a hand-kept list: a new model module is seen the moment it exists."""

from __future__ import annotations

import importlib
import pkgutil

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")
