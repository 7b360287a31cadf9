"""tasks-api's wiring: app factory, settings, CLI, database, errors, OpenAPI 3.1 support."""

import warnings

# Noise no user can act on, printed at every start: Connexion imports Starlette's test client even
# in production (Starlette 1.x then warns about httpx), and the embedded PostgreSQL falls back to
# /tmp for its lock file where XDG_RUNTIME_DIR is unset.
warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient` is deprecated")
warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
