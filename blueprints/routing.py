"""Paths that are not one endpoint: the former Edge Function names, served at
/functions/v1/<name> by the endpoint that replaced each (see shared/platform/http.py),
and the JSON 404 for any other path under /api/."""

import azure.functions as func
from azurefunctions.extensions.http.fastapi import Request, Response

from shared.platform.http import ALL_METHODS, FORMER_PREFIX, not_found, serve_former

bp = func.Blueprint()


@bp.route(route=FORMER_PREFIX + "/{name}", methods=ALL_METHODS, auth_level=func.AuthLevel.ANONYMOUS)
@bp.durable_client_input(client_name="client")
async def former_functions(req: Request, client: str) -> Response:
    """POST /functions/v1/<former-name>: what supabase-js's functions.invoke() calls."""
    return await serve_former(req, durable_client=client)


# A catch-all has the lowest route precedence: every endpoint's own route wins.
@bp.route(route="api/{*path}", methods=ALL_METHODS, auth_level=func.AuthLevel.ANONYMOUS)
async def unknown_route(req: Request) -> Response:
    return not_found(req, "No such endpoint")
