"""GET /api/health and GET /api/openapi.json (anonymous)."""

import azure.functions as func

from shared.http import ANONYMOUS, ENDPOINTS, Call, api, json_response
from shared.services.health import check_health

bp = func.Blueprint()


@api(bp, "health", methods=("GET",), auth=ANONYMOUS)
async def health(call: Call):
    """Service status, version and database reachability."""
    healthy, body = await check_health(call.services.db, call.services.settings.APP_VERSION)
    return json_response(body, 200 if healthy else 503)


@api(bp, "openapi.json", methods=("GET",), auth=ANONYMOUS)
async def openapi(call: Call):
    """The OpenAPI 3.1 document of every HTTP endpoint."""
    from shared.openapi import build_openapi

    functions = [(spec.name, spec.route) for spec in ENDPOINTS.values()]
    return build_openapi(functions, ENDPOINTS, call.services.settings.APP_VERSION)
