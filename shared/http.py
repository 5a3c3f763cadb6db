"""HTTP plumbing every endpoint shares: auth, rate limits, body parsing into
models, the error envelope, size and method checks, request ids and logs.

A blueprint declares an endpoint with `@api(bp, "route", ...)` over a handler
that takes a `Call` and returns a model, a dict or a response. Everything the
contract says about bad input is answered here, once.
"""

import importlib
import json
import logging
import re
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

import azure.functions as func
from azurefunctions.extensions.http.fastapi import JSONResponse, Request, Response
from pydantic import BaseModel, ValidationError

from shared.auth import Caller, authenticate
from shared.errors import (ApiError, BadRequest, MethodNotAllowed, PayloadTooLarge,
                           UnsupportedMediaType)
from shared.logs import log_event

ONE_MB = 1024 * 1024
ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

# The Functions host refuses route templates that start with `admin` or `runtime`
# (its own APIs), whatever the route prefix. Such a contract route is written
# with its first segment as a parameter constrained to that one literal, e.g.
# `{area:regex(^admin$)}/data-cleanup`; `published_route` gives the literal path.
_LITERAL_SEGMENT = re.compile(r"\{[A-Za-z_]\w*:regex\(\^([A-Za-z0-9_-]+)\$\)\}")


def published_route(route: str) -> str:
    """The route as callers see it (`{area:regex(^admin$)}/x` -> `admin/x`)."""
    return _LITERAL_SEGMENT.sub(r"\1", route)


# Who may call: a Supabase user, a service holding SERVICE_API_KEY, either, or anyone.
USER, SERVICE, USER_OR_SERVICE, ANONYMOUS = "user", "service", "user_or_service", "anonymous"


# A model given as "module:Class" is imported on first use, so declaring an
# endpoint costs nothing at cold start (the app imports every blueprint).
ModelRef = type[BaseModel] | str | None


def resolve_model(ref: ModelRef) -> type[BaseModel] | None:
    if ref is None or isinstance(ref, type):
        return ref
    module, _, name = ref.partition(":")
    return getattr(importlib.import_module(module), name)


@dataclass(frozen=True)
class EndpointSpec:
    """What an endpoint accepts and answers; also the source of the OpenAPI document."""

    name: str
    route: str
    methods: tuple[str, ...]
    auth: str
    body_ref: ModelRef
    response_ref: ModelRef
    rate_limit: str | None
    max_body: int
    summary: str
    streams: bool = False

    @property
    def body(self) -> type[BaseModel] | None:
        return resolve_model(self.body_ref)

    @property
    def response(self) -> type[BaseModel] | None:
        return resolve_model(self.response_ref)


ENDPOINTS: dict[str, EndpointSpec] = {}


@dataclass
class Call:
    """One request as a handler sees it."""

    request: Request
    request_id: str
    spec: EndpointSpec
    services: Any
    client_ip: str
    caller: Caller | None = None
    body: Any = None
    durable_client: Any = None
    log_fields: dict[str, Any] = field(default_factory=dict)

    @property
    def user_id(self):
        return self.caller.user_id if self.caller else None


Handler = Callable[[Call], Awaitable[Any]]


def api(bp: func.Blueprint, route: str, *, methods: tuple[str, ...] = ("POST",), auth: str = USER,
        body: ModelRef = None, response: ModelRef = None,
        rate_limit: str | None = None, max_body: int = ONE_MB, streams: bool = False,
        durable_client: bool = False) -> Callable[[Handler], Handler]:
    """Register `handler` as the HTTP function for `route` (under the `api` prefix).

    The function accepts every method so that a wrong one gets the contract's
    405 rather than the host's 404.
    """

    def decorate(handler: Handler) -> Handler:
        spec = EndpointSpec(
            name=handler.__name__, route=route, methods=tuple(m.upper() for m in methods), auth=auth,
            body_ref=body, response_ref=response, rate_limit=rate_limit, max_body=max_body,
            summary=(handler.__doc__ or "").strip().splitlines()[0] if handler.__doc__ else "",
            streams=streams,
        )
        ENDPOINTS[spec.name] = spec

        if durable_client:
            async def entry(req: Request, client) -> Response:
                return await serve(spec, handler, req, durable_client=client)

            entry.__name__ = spec.name
            function = bp.durable_client_input(client_name="client")(entry)
        else:
            async def entry(req: Request) -> Response:
                return await serve(spec, handler, req)

            entry.__name__ = spec.name
            function = entry
        bp.route(route=route, methods=ALL_METHODS, auth_level=func.AuthLevel.ANONYMOUS)(function)
        return handler

    return decorate


async def serve(spec: EndpointSpec, handler: Handler, request: Request, durable_client: Any = None) -> Response:
    """Run one request through the shared checks and the handler; always answer."""
    from shared.wiring import get_services

    started = time.perf_counter()
    request_id = _request_id(request)
    call = Call(request=request, request_id=request_id, spec=spec, services=None,
                client_ip=client_ip(request), durable_client=durable_client)
    try:
        if request.method.upper() not in spec.methods:
            raise MethodNotAllowed(f"Method {request.method} is not allowed; use {', '.join(spec.methods)}",
                                   headers={"Allow": ", ".join(spec.methods)})
        call.services = get_services()
        if spec.auth != ANONYMOUS:
            call.caller = await authenticate(
                request.headers, call.services.verifier, call.services.settings.SERVICE_API_KEY,
                allow_user=spec.auth in (USER, USER_OR_SERVICE),
                allow_service=spec.auth in (SERVICE, USER_OR_SERVICE),
            )
        if spec.rate_limit:
            keys = [f"ip:{call.client_ip}"]
            if call.caller is not None:
                keys.insert(0, call.caller.rate_key)
            await call.services.rate_limiter.check(spec.rate_limit, keys)
        if spec.body_ref is not None and request.method.upper() != "GET":
            call.body = await read_model(request, spec.body, spec.max_body)
        result = await handler(call)
        response = to_response(result)
    except ApiError as error:
        response = error_response(error)
        call.log_fields.setdefault("error", error.message)
    except Exception:  # the contract: never a stack trace, always a request id
        logging.getLogger("talenti").exception("unhandled error in %s (request %s)", spec.name, request_id)
        response = error_response(ApiError("Internal server error", extra={"requestId": request_id}))
    response.headers["x-request-id"] = request_id
    log_event("request", requestId=request_id, function=spec.name, method=request.method,
              status=response.status_code, durationMs=round((time.perf_counter() - started) * 1000, 1),
              userId=str(call.user_id) if call.user_id else None, **call.log_fields)
    return response


def to_response(result: Any, status: int = 200) -> Response:
    if isinstance(result, Response):
        return result
    if isinstance(result, BaseModel):
        result = result.model_dump(mode="json")
    return json_response(result, status)


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    if isinstance(body, BaseModel):
        body = body.model_dump(mode="json")
    return JSONResponse(body, status_code=status, headers=headers)


def error_response(error: ApiError) -> Response:
    return JSONResponse(error.body(), status_code=error.status, headers=error.headers)


async def read_body(request: Request, max_bytes: int) -> bytes:
    """The raw body, refusing (413) anything over `max_bytes` without reading it all."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise PayloadTooLarge(f"Request body is larger than {max_bytes} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise PayloadTooLarge(f"Request body is larger than {max_bytes} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def media_type(request: Request) -> str:
    return (request.headers.get("content-type") or "").split(";")[0].strip().lower()


async def read_json(request: Request, max_bytes: int = ONE_MB) -> Any:
    """The body as JSON; an empty body reads as {} (POSTs without a body)."""
    kind = media_type(request)
    if kind and kind != "application/json" and not kind.endswith("+json"):
        raise UnsupportedMediaType("Content-Type must be application/json")
    raw = await read_body(request, max_bytes)
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("Request body is not valid JSON") from None


def parse_model(model: type[BaseModel], data: Any) -> Any:
    if not isinstance(data, dict):
        raise BadRequest("Request body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise BadRequest("Invalid request body", details=validation_details(exc)) from None


async def read_model(request: Request, model: type[BaseModel], max_bytes: int = ONE_MB) -> Any:
    return parse_model(model, await read_json(request, max_bytes))


def validation_details(exc: ValidationError) -> list[dict[str, str]]:
    return [
        {"field": ".".join(str(part) for part in err["loc"]) or "body", "message": err["msg"]}
        for err in exc.errors(include_url=False, include_input=False)
    ]


def client_ip(request: Request) -> str:
    """The client's address: Azure's front end puts it first in X-Forwarded-For (with a port)."""
    forwarded = (request.headers.get("x-forwarded-for") or "").split(",")[0].strip()
    if forwarded:
        if forwarded.startswith("["):  # [ipv6]:port
            return forwarded[1:].split("]")[0]
        if forwarded.count(":") == 1:  # ipv4:port
            return forwarded.split(":")[0]
        return forwarded
    return request.client.host if request.client else "unknown"


def _request_id(request: Request) -> str:
    given = request.headers.get("x-request-id") or ""
    return given if _REQUEST_ID.match(given) else uuid.uuid4().hex


def new_request_id() -> str:
    return uuid.uuid4().hex
