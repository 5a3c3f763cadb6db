"""A local stand-in for the Azure Functions host (development only; not deployed).

It reads the app's own function metadata (`app.get_functions()`) and serves:
- every HTTP function on its real route under the host.json route prefix,
  called with the HTTP-streams extension's request type exactly as the worker
  calls it;
- `POST /admin/functions/<name>`: fire a non-HTTP function (timer) as the
  host's admin API does;
- `POST /runtime/webhooks/eventgrid?functionName=<name>`: Event Grid delivery
  (header `aeg-event-type: Notification`), decoded by the library's own
  converter, one invocation per event; the validation handshake is answered
  here, as the real host does.
"""

from __future__ import annotations

import inspect
import json
import logging
from pathlib import Path
from typing import Any, Callable

import azure.functions as func
from azure.functions.eventgrid import EventGridEventInConverter
from azure.functions.timer import TimerRequestConverter
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from shared.http import published_route

ROOT = Path(__file__).resolve().parent.parent
log = logging.getLogger("devhost")

VALIDATION_EVENT = "Microsoft.EventGrid.SubscriptionValidationEvent"


def route_prefix() -> str:
    host = json.loads((ROOT / "host.json").read_text())
    return host.get("extensions", {}).get("http", {}).get("routePrefix", "api").strip("/")


def starlette_path(prefix: str, route: str) -> str:
    """Azure route template -> Starlette path ({*rest} catch-alls become {rest:path})."""
    parts = []
    for segment in route.strip("/").split("/"):
        if segment.startswith("{*") and segment.endswith("}"):
            segment = "{" + segment[2:-1] + ":path}"
        elif segment.startswith("{") and ":" in segment:
            segment = segment.split(":")[0] + "}"  # drop Azure constraints such as :guid
        parts.append(segment)
    return "/" + "/".join(p for p in [prefix, *parts] if p)


class FunctionHost:
    """Invokes the app's functions as the worker would."""

    def __init__(self, app: func.FunctionApp, binding_values: Callable[[str, dict], Any] | None = None):
        self.functions = {f.get_function_name(): f for f in app.get_functions()}  # once per app: it caches
        self.binding_values = binding_values  # extra input bindings (the durable client), by binding

    def trigger_name(self, function) -> str:
        return function.get_trigger().name

    def kwargs_for(self, function, trigger_value: Any) -> dict[str, Any]:
        kwargs = {}
        for binding in function.get_bindings_dict()["bindings"]:
            if binding["direction"] == "out" or binding["name"] == "$return":
                continue
            if binding["type"].endswith("Trigger"):
                kwargs[binding["name"]] = trigger_value
            elif self.binding_values is not None:
                kwargs[binding["name"]] = self.binding_values(function.get_function_name(), binding)
        return kwargs

    async def invoke(self, name: str, trigger_value: Any) -> Any:
        function = self.functions[name]
        result = function.get_user_function()(**self.kwargs_for(function, trigger_value))
        if inspect.isawaitable(result):
            result = await result
        return result

    def of_type(self, trigger_type: str) -> dict[str, Any]:
        return {n: f for n, f in self.functions.items() if f.get_trigger().type == trigger_type}


def build_app(app: func.FunctionApp, *, cors_origins: list[str] | None = None,
              binding_values: Callable[[str, dict], Any] | None = None,
              extra_routes: list[Route] | None = None, host: FunctionHost | None = None) -> Starlette:
    host = host or FunctionHost(app, binding_values)  # pass one to share it (get_functions runs once per app)
    prefix = route_prefix()
    routes: list[Route] = []

    for name, function in host.functions.items():
        if not function.is_http_function():
            continue
        trigger = function.get_trigger()

        async def endpoint(request: Request, _name: str = name) -> Response:
            return await host.invoke(_name, request)

        methods = [str(m.value if hasattr(m, "value") else m).upper() for m in (trigger.methods or ["GET", "POST"])]
        route = published_route(trigger.route or name)  # host-reserved first segments (see shared.http)
        routes.append(Route(starlette_path(prefix, route), endpoint, methods=methods, name=name))

    async def admin_invoke(request: Request) -> Response:
        name = request.path_params["name"]
        function = host.functions.get(name)
        if function is None:
            return JSONResponse({"error": f"No function named {name}"}, status_code=404)
        if function.get_trigger().type != "timerTrigger":
            return JSONResponse({"error": f"{name} is not a timer function"}, status_code=400)
        timer = TimerRequestConverter.decode(
            func.meta.Datum(json.dumps({"IsPastDue": False}), "json"), trigger_metadata={})
        await host.invoke(name, timer)
        return Response(status_code=202)

    async def eventgrid_webhook(request: Request) -> Response:
        name = request.query_params.get("functionName", "")
        if name not in host.of_type("eventGridTrigger"):
            return JSONResponse({"error": f"No Event Grid function named {name!r}"}, status_code=404)
        try:
            payload = json.loads(await request.body())
        except ValueError:
            return JSONResponse({"error": "Body is not JSON"}, status_code=400)
        events = payload if isinstance(payload, list) else [payload]
        kind = request.headers.get("aeg-event-type", "")
        if kind == "SubscriptionValidation" or any(e.get("eventType") == VALIDATION_EVENT for e in events):
            code = events[0].get("data", {}).get("validationCode")
            return JSONResponse({"validationResponse": code})
        if kind != "Notification":
            return JSONResponse({"error": "aeg-event-type must be Notification"}, status_code=400)
        failures = 0
        for event in events:
            value = EventGridEventInConverter.decode(
                func.meta.Datum(json.dumps(event), "json"), trigger_metadata={})
            try:
                await host.invoke(name, value)
            except Exception:  # the real host logs the failure and retries delivery
                log.exception("Event Grid function %s failed for event %s", name, event.get("id"))
                failures += 1
        return Response(status_code=500 if failures else 202)

    routes.append(Route("/admin/functions/{name}", admin_invoke, methods=["POST"]))
    routes.append(Route("/runtime/webhooks/eventgrid", eventgrid_webhook, methods=["POST"]))
    routes.extend(extra_routes or [])

    middleware = []
    if cors_origins:
        middleware.append(Middleware(CORSMiddleware, allow_origins=cors_origins, allow_methods=["*"],
                                     allow_headers=["*"], expose_headers=["x-request-id", "Retry-After", "Location"]))
    return Starlette(routes=routes, middleware=middleware)
