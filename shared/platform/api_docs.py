"""The API page (`GET /api/docs`): Swagger UI over the app's OpenAPI document.

Swagger UI's dist files come from the `fastapi-swagger` wheel (requirements.txt),
which ships exactly `swagger-ui-bundle.js` and `swagger-ui.css` of a current
Swagger UI 5 release. Being a Python package, it is installed by Azure's
remote build like every other dependency, so the deployed app serves the
assets itself: no CDN at run time and no node_modules (which is not deployed).
Only that package's data files are used, not its FastAPI code.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from shared.platform.operation import FORMER_TAG, REQUEST_ID_HEADER, Document, OperationDocs

if TYPE_CHECKING:
    from shared.platform.config import Settings

PAGE_PATH = "/api/docs"
ASSETS_PATH = PAGE_PATH + "/assets"
OPENAPI_PATH = "/api/openapi.json"
INIT_SCRIPT = "init.js"

# Served files and their media types; any other name is a 404.
_PACKAGED = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "favicon-32x32.png": "image/png",
}

# Scripts only from this origin (the page has no inline script); Swagger UI sets
# inline styles, and "try it out" calls the same origin.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
PAGE_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}
ASSET_CACHE = "public, max-age=86400"

_PAGE = f"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Talenti API</title>
  <link rel="icon" type="image/png" href="{ASSETS_PATH}/favicon-32x32.png">
  <link rel="stylesheet" href="{ASSETS_PATH}/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui" data-openapi-url="{OPENAPI_PATH}"></div>
  <script src="{ASSETS_PATH}/swagger-ui-bundle.js"></script>
  <script src="{ASSETS_PATH}/{INIT_SCRIPT}"></script>
</body>
</html>
"""

# Bearer tokens pasted under "Authorize" stay in this page's memory only
# (persistAuthorization off): nothing is written to the browser's storage.
# One group per feature, open; the former Edge Function paths (the same
# operations again) in their own group, collapsed once the document is shown.
_INIT = """window.addEventListener("load", function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.getAttribute("data-openapi-url"),
    domNode: root,
    deepLinking: true,
    docExpansion: "list",
    displayOperationId: false,
    displayRequestDuration: true,
    persistAuthorization: false,
    tryItOutEnabled: false,
    validatorUrl: null,
    onComplete: function () {
      window.ui.getSystem().layoutActions.show(["operations-tag", FORMER_TAG], false);
    }
  });
});
""".replace("FORMER_TAG", json.dumps(FORMER_TAG))


def docs_enabled(settings: Settings) -> bool:
    """On outside production; in production only with API_DOCS_ENABLED=true."""
    return settings.API_DOCS_ENABLED or not settings.is_production


def page() -> str:
    return _PAGE


@cache
def asset(name: str) -> tuple[bytes, str] | None:
    """(content, media type) of a served file, or None for an unknown name."""
    if name == INIT_SCRIPT:
        return _INIT.encode(), "text/javascript; charset=utf-8"
    media_type = _PACKAGED.get(name)
    if media_type is None:  # a fixed set of names: nothing from the request reaches a path
        return None
    return resources.files("fastapi_swagger").joinpath("resources", name).read_bytes(), media_type


class PageDocs(OperationDocs):
    """An HTML page."""

    def responses(self, document: Document, method: str) -> dict[str, Any]:
        return {
            "200": {
                "description": "The interactive API page",
                "headers": dict(REQUEST_ID_HEADER),
                "content": {"text/html": {"schema": {"type": "string"}}},
            }
        }


class AssetDocs(OperationDocs):
    """Scripts, styles and images."""

    def responses(self, document: Document, method: str) -> dict[str, Any]:
        text = {"schema": {"type": "string"}}
        return {
            "200": {
                "description": "A static file of the API page",
                "headers": dict(REQUEST_ID_HEADER),
                "content": {
                    "text/javascript": text,
                    "text/css": text,
                    "image/png": {"schema": {"type": "string", "format": "binary"}},
                },
            }
        }
