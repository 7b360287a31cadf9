"""The contract itself, and Swagger UI 5 (from the swagger-ui-py wheel, so no CDN is needed)."""

from __future__ import annotations

import base64
import hashlib
from functools import cache
from importlib.resources import files

from connexion import request
from werkzeug.datastructures import MIMEAccept
from werkzeug.http import parse_accept_header

from handlers.context import HandlerResult, json_result, services
from tasks_api.contract import Contract

_SWAGGER_UI_STATIC = files("swagger_ui") / "static"
_ASSET_MEDIA_TYPES = {".js": "text/javascript", ".css": "text/css", ".png": "image/png"}
_CACHE_A_DAY = {"Cache-Control": "public, max-age=86400"}
# The contract's YAML media types, the default first: ties in `Accept` go to application/yaml.
_YAML_MEDIA_TYPES = ["application/yaml", "text/plain"]


def _sha256_base64(text: str) -> str:
    return base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()


_SWAGGER_UI_START = """
    window.ui = SwaggerUIBundle({
      url: "openapi.json",
      dom_id: "#swagger-ui",
      presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
      layout: "StandaloneLayout",
      deepLinking: true
    });
"""
# The page may run its own bundle and this one inline script (by hash, not 'unsafe-inline'),
# fetch the contract from here, and be framed by no one. Swagger UI draws icons from data: URIs.
_DOCS_CSP = "; ".join(
    [
        "default-src 'none'",
        f"script-src 'self' 'sha256-{_sha256_base64(_SWAGGER_UI_START)}'",
        # Swagger UI adds a <style> element at run time; styles cannot run code, scripts stay pinned.
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)

_DOCS_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>{title} {version}</title>
  <link rel="icon" type="image/png" href="docs/favicon-32x32.png">
  <link rel="stylesheet" href="docs/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="docs/swagger-ui-bundle.js"></script>
  <script src="docs/swagger-ui-standalone-preset.js"></script>
  <script>{script}</script>
</body>
</html>
"""


def _contract() -> Contract:
    return services().contract


def get_open_api_json() -> HandlerResult:
    return json_result(_contract().document)


def get_open_api_yaml() -> HandlerResult:
    accept = parse_accept_header(request.headers.get("Accept"), MIMEAccept)
    media_type = accept.best_match(_YAML_MEDIA_TYPES, default=_YAML_MEDIA_TYPES[0])
    return _contract().yaml_text, 200, {"Content-Type": media_type}


def get_api_docs() -> HandlerResult:
    info = _contract().document["info"]
    page = _DOCS_PAGE.format(title=info["title"], version=info["version"], script=_SWAGGER_UI_START)
    return page, 200, {"Content-Type": "text/html", "Content-Security-Policy": _DOCS_CSP}


@cache
def _asset(name: str) -> bytes:
    # `name` is one of the contract's enum values, so it cannot name any other file; the bundle
    # is 1.4 MB, read once per process rather than once per request.
    return (_SWAGGER_UI_STATIC / name).read_bytes()


def get_api_docs_asset(asset: str) -> HandlerResult:
    content = _asset(asset)
    media_type = _ASSET_MEDIA_TYPES[asset[asset.rindex(".") :]]
    return content, 200, {"Content-Type": media_type, **_CACHE_A_DAY}
