"""GET /api/health and GET /api/openapi.json (anonymous)."""

from typing import Any

import azure.functions as func
from azurefunctions.extensions.http.fastapi import Response

from shared.platform.health import HealthDocs, OpenApiDocs, check_health
from shared.platform.http import ANONYMOUS, ENDPOINTS, Call, api, json_response
from shared.platform.openapi import build_openapi

bp = func.Blueprint()


@api(bp, "health", methods=("GET",), auth=ANONYMOUS, docs=HealthDocs())
async def health(call: Call) -> Response:
    """Service status, version and database reachability."""
    report = await check_health(call.services.db, call.services.settings.APP_VERSION)
    return json_response(report, 200 if report["status"] == "ok" else 503)


@api(bp, "openapi.json", methods=("GET",), auth=ANONYMOUS, self_contained=True, docs=OpenApiDocs())
async def openapi(call: Call) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every HTTP endpoint."""
    return build_openapi(ENDPOINTS, call.services.settings.APP_VERSION)
