"""The contract itself, and Swagger UI 5 (from the swagger-ui-py wheel, so no CDN is needed)."""

from __future__ import annotations

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
  <script>
    window.ui = SwaggerUIBundle({{
      url: "openapi.json",
      dom_id: "#swagger-ui",
      presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
      layout: "StandaloneLayout",
      deepLinking: true
    }});
  </script>
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
    page = _DOCS_PAGE.format(title=info["title"], version=info["version"])
    return page, 200, {"Content-Type": "text/html"}


@cache
def _asset(name: str) -> bytes:
    # `name` is one of the contract's enum values, so it cannot name any other file; the bundle
    # is 1.4 MB, read once per process rather than once per request.
    return (_SWAGGER_UI_STATIC / name).read_bytes()


def get_api_docs_asset(asset: str) -> HandlerResult:
    content = _asset(asset)
    media_type = _ASSET_MEDIA_TYPES[asset[asset.rindex(".") :]]
    return content, 200, {"Content-Type": media_type, **_CACHE_A_DAY}
