"""GET /api/docs (anonymous): the interactive API page, and its static assets."""

import azure.functions as func
from azurefunctions.extensions.http.fastapi import Response

from shared.platform import api_docs
from shared.platform.api_docs import AssetDocs, PageDocs
from shared.platform.errors import NotFound
from shared.platform.http import ANONYMOUS, Call, api

bp = func.Blueprint()


def _require_enabled(call: Call) -> None:
    if not api_docs.docs_enabled(call.services.settings):
        raise NotFound("Not found")


@api(bp, "docs", methods=("GET",), auth=ANONYMOUS, errors=(404,), self_contained=True, docs=PageDocs())
async def api_docs_page(call: Call) -> Response:
    """Interactive API documentation (Swagger UI over the OpenAPI document)."""
    _require_enabled(call)
    return Response(api_docs.page(), media_type="text/html; charset=utf-8", headers=api_docs.PAGE_HEADERS)


@api(bp, "docs/assets/{name}", methods=("GET",), auth=ANONYMOUS, errors=(404,), self_contained=True, docs=AssetDocs())
async def api_docs_asset(call: Call) -> Response:
    """A static file of the API page."""
    _require_enabled(call)
    found = api_docs.asset(call.request.path_params.get("name") or "")
    if found is None:
        raise NotFound("Not found")
    content, media_type = found
    return Response(
        content,
        media_type=media_type,
        headers={"cache-control": api_docs.ASSET_CACHE, "x-content-type-options": "nosniff"},
    )
