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

import asyncio
import inspect
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import azure.functions as func
from azure.functions.eventgrid import EventGridEventInConverter
from azure.functions.timer import TimerRequestConverter
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

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
        # Read once: the metadata is fixed for the process, and rebuilding it per request costs.
        self._inputs = {name: self._input_bindings(function) for name, function in self.functions.items()}
        self._user_functions = {name: f.get_user_function() for name, f in self.functions.items()}
        self._trigger_types = {name: f.get_trigger().type for name, f in self.functions.items()}

    @staticmethod
    def _input_bindings(function) -> list[tuple[str, bool, dict]]:
        """(argument name, is the trigger, binding) for each input the user function takes."""
        return [
            (binding["name"], binding["type"].endswith("Trigger"), binding)
            for binding in function.get_bindings_dict()["bindings"]
            if binding["direction"] != "out" and binding["name"] != "$return"
        ]

    def kwargs_for(self, name: str, trigger_value: Any) -> dict[str, Any]:
        kwargs = {}
        for argument, is_trigger, binding in self._inputs[name]:
            if is_trigger:
                kwargs[argument] = trigger_value
            elif self.binding_values is not None:
                kwargs[argument] = self.binding_values(name, binding)
        return kwargs

    async def invoke(self, name: str, trigger_value: Any) -> Any:
        result = self._user_functions[name](**self.kwargs_for(name, trigger_value))
        if inspect.isawaitable(result):
            result = await result
        return result

    def of_type(self, trigger_type: str) -> dict[str, Any]:
        return {n: f for n, f in self.functions.items() if self._trigger_types[n] == trigger_type}


def build_app(
    app: func.FunctionApp,
    *,
    cors_origins: list[str] | None = None,
    binding_values: Callable[[str, dict], Any] | None = None,
    extra_routes: list[Route] | None = None,
    host: FunctionHost | None = None,
) -> Starlette:
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
        routes.append(Route(starlette_path(prefix, trigger.route or name), endpoint, methods=methods, name=name))
    # As in Azure, a catch-all route ranks below every literal one.
    routes.sort(key=lambda route: "{*" in (host.functions[route.name].get_trigger().route or ""))

    async def admin_invoke(request: Request) -> Response:
        name = request.path_params["name"]
        function = host.functions.get(name)
        if function is None:
            return JSONResponse({"error": f"No function named {name}"}, status_code=404)
        if function.get_trigger().type != "timerTrigger":
            return JSONResponse({"error": f"{name} is not a timer function"}, status_code=400)
        timer = TimerRequestConverter.decode(
            func.meta.Datum(json.dumps({"IsPastDue": False}), "json"), trigger_metadata={}
        )
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
            value = EventGridEventInConverter.decode(func.meta.Datum(json.dumps(event), "json"), trigger_metadata={})
            try:
                await host.invoke(name, value)
            except Exception:  # the real host logs the failure and retries delivery
                log.exception("Event Grid function %s failed for event %s", name, event.get("id"))
                failures += 1
        return Response(status_code=500 if failures else 202)

    routes.append(Route("/admin/functions/{name}", admin_invoke, methods=["POST"]))
    routes.append(Route("/runtime/webhooks/eventgrid", eventgrid_webhook, methods=["POST"]))
    routes.extend(extra_routes or [])

    middleware = [Middleware(BodyDeadline, seconds=BODY_DEADLINE_SECONDS)]
    if cors_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=cors_origins,
                allow_methods=["*"],
                allow_headers=CORS_ALLOWED_HEADERS,
                max_age=600,
                expose_headers=["x-request-id", "Retry-After", "Location"],
            )
        )
    return Starlette(routes=routes, middleware=middleware, exception_handlers={404: _json_error, 405: _json_error})


# What supabase-js's FunctionsClient and the app's own clients send (browsers preflight them).
CORS_ALLOWED_HEADERS = [
    "authorization",
    "apikey",
    "x-client-info",
    "content-type",
    "x-request-id",
    "x-service-key",
    "x-retry-count",
    "traceparent",
    "tracestate",
    "baggage",
]
BODY_DEADLINE_SECONDS = 30.0  # a client may not hold a request body open longer than this


async def _json_error(request: Request, exc: Exception) -> Response:
    """Paths and methods nothing serves get the contract's JSON error, not plain text."""
    status = getattr(exc, "status_code", 404)
    message = "No such endpoint" if status == 404 else "Method not allowed"
    return JSONResponse({"error": message}, status_code=status, headers=getattr(exc, "headers", None))


class BodyDeadline:
    """ASGI middleware: the whole request body must arrive within `seconds`, so a
    slow client cannot hold a worker open forever (Azure's front end does this
    in production). Past the deadline the app sees the client as gone, which
    shared/platform/http.py answers with 408."""

    def __init__(self, app, seconds: float):
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.seconds
        body_done = False

        async def timed_receive():
            nonlocal body_done
            if body_done:
                return await receive()
            try:  # a timeout scope, not wait_for: no extra task per message
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                body_done = True
                return {"type": "http.disconnect"}
            if message["type"] != "http.request" or not message.get("more_body"):
                body_done = True
            return message

        await self.app(scope, timed_receive, send)
