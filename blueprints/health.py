"""GET /api/health, /api/health/live, /api/health/ready and /api/openapi.json (anonymous).

Probes: liveness (the container HEALTHCHECK, platform liveness probes) calls
/api/health/live; readiness, the availability test and the post-deploy smoke
test call /api/health/ready; /api/health keeps its original contract."""

from typing import Any

import azure.functions as func
from azurefunctions.extensions.http.fastapi import Response

from shared.platform.health import (
    HealthDocs,
    LiveDocs,
    OpenApiDocs,
    ReadyDocs,
    check_health,
    check_ready,
    live_report,
)
from shared.platform.http import ANONYMOUS, ENDPOINTS, Call, api, json_response

bp = func.Blueprint()


@api(bp, "health", methods=("GET",), auth=ANONYMOUS, docs=HealthDocs())
async def health(call: Call) -> Response:
    """Service status, version and database reachability."""
    report = await check_health(call.services.db, call.services.settings.APP_VERSION)
    return json_response(report, 200 if report["status"] == "ok" else 503)


@api(bp, "health/live", methods=("GET",), auth=ANONYMOUS, self_contained=True, docs=LiveDocs())
async def health_live(call: Call) -> dict[str, Any]:
    """Liveness: the process answers (no database, no upstream)."""
    return dict(live_report(call.services.settings.APP_VERSION))


@api(bp, "health/ready", methods=("GET",), auth=ANONYMOUS, docs=ReadyDocs())
async def health_ready(call: Call) -> Response:
    """Readiness: the database and the configured Blob storage answer."""
    services = call.services
    report = await check_ready(services.db, services.storage_probes, services.settings.APP_VERSION)
    return json_response(report, 200 if report.status == "ready" else 503)


@api(bp, "openapi.json", methods=("GET",), auth=ANONYMOUS, self_contained=True, docs=OpenApiDocs())
async def openapi(call: Call) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every HTTP endpoint."""
    from shared.platform.openapi import build_openapi

    return build_openapi(ENDPOINTS, call.services.settings.APP_VERSION)
