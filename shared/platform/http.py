"""HTTP plumbing every endpoint shares: auth, rate limits, body parsing into
models, the error envelope, size and method checks, request ids and logs.

A blueprint declares an endpoint with `@api(bp, "route", ...)` over a handler
that takes a `Call` and returns a model, a dict or a response. Everything the
contract says about bad input is answered here, once.

Paths: host.json's route prefix is empty, so this module owns both prefixes.
Every endpoint is served at `/api/<route>`; one declared with `former=<name>`
is also served at `/functions/v1/<name>`, the path supabase-js's
`functions.invoke(name)` posts to, through one dispatcher function
(`serve_former`) that runs the very same endpoint.
"""

import json
import logging
import re
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import azure.functions as func
from azurefunctions.extensions.http.fastapi import JSONResponse, Request, Response
from pydantic import BaseModel, ValidationError
from starlette.requests import ClientDisconnect

from shared.platform import telemetry
from shared.platform.auth import Caller, authenticate
from shared.platform.buckets import Bucket
from shared.platform.errors import (
    ApiError,
    BadCredentials,
    BadRequest,
    Forbidden,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    RequestTimeout,
    Unauthorized,
    UnsupportedMediaType,
)
from shared.platform.logs import log_event
from shared.platform.logs import request_id as current_request_id
from shared.platform.operation import OperationDocs
from shared.platform.rate_limit import address_key

if TYPE_CHECKING:
    from shared.platform.wiring import Services

ONE_MB = 1024 * 1024
ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
API_PREFIX = "api"
FORMER_PREFIX = "functions/v1"
MAX_JSON_DEPTH = 64  # deeper bodies are refused before any model sees them
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
# A request presenting any of these is trying a credential: refused at once from an
# address past its failure budget (shared/platform/rate_limit.py).
CREDENTIAL_HEADERS = ("authorization", "x-service-key", "x-acs-webhook-secret")

# Who may call: a Supabase user, a service holding SERVICE_API_KEY, either, or anyone.
Auth = Literal["user", "service", "user_or_service", "anonymous"]
USER: Auth = "user"
SERVICE: Auth = "service"
USER_OR_SERVICE: Auth = "user_or_service"
ANONYMOUS: Auth = "anonymous"


@dataclass(frozen=True)
class EndpointSpec:
    """What an endpoint accepts and answers; also the source of the OpenAPI document."""

    name: str
    route: str  # relative to /api/
    methods: tuple[str, ...]
    auth: Auth
    body: type[BaseModel] | None
    response: type[BaseModel] | None
    rate_limit: Bucket | None
    max_body: int
    summary: str
    streams: bool = False
    former: str | None = None  # the Edge Function's name, also served at /functions/v1/<former>
    feature: str = ""  # the declaring blueprint's name: the endpoint's group in the OpenAPI document
    feature_text: str = ""  # the first paragraph of that blueprint's docstring: the group's description
    errors: tuple[int, ...] = ()  # answers its service adds to what the declaration implies
    self_contained: bool = False  # needs neither the database nor an upstream service: never 503
    docs: OperationDocs | None = None  # what its OpenAPI operation says beyond the declaration
    model_budget: bool = False  # calls the model: counts against the user's daily AI budget (402)

    @property
    def path(self) -> str:
        return f"/{API_PREFIX}/{self.route}"

    @property
    def former_path(self) -> str | None:
        return f"/{FORMER_PREFIX}/{self.former}" if self.former else None


@dataclass
class Call:
    """One request as a handler sees it."""

    request: Request
    request_id: str
    spec: EndpointSpec
    services: "Services"
    client_ip: str
    caller: Caller | None = None
    body: Any = None
    durable_client: Any = None
    log_fields: dict[str, Any] = field(default_factory=dict)

    @property
    def user_id(self) -> uuid.UUID | None:
        return self.caller.user_id if self.caller else None

    @property
    def principal(self) -> Caller:
        """The authenticated caller (every endpoint but an anonymous one has one)."""
        if self.caller is None:
            raise Unauthorized()
        return self.caller

    @property
    def user(self) -> uuid.UUID:
        """The signed-in user's id (an endpoint with auth=USER always has one)."""
        if self.caller is None or self.caller.user_id is None:
            raise Unauthorized()
        return self.caller.user_id


Handler = Callable[[Call], Awaitable[Any]]


@dataclass(frozen=True)
class Endpoint:
    spec: EndpointSpec
    handler: Handler


ENDPOINTS: dict[str, EndpointSpec] = {}
FORMER_ENDPOINTS: dict[str, Endpoint] = {}  # former name -> the endpoint serving it


def _first_paragraph(module: Any) -> str:
    return " ".join((getattr(module, "__doc__", None) or "").strip().split("\n\n")[0].split())


def api(
    bp: func.Blueprint,
    route: str,
    *,
    methods: tuple[str, ...] = ("POST",),
    auth: Auth = USER,
    body: type[BaseModel] | None = None,
    response: type[BaseModel] | None = None,
    rate_limit: Bucket | None = None,
    max_body: int = ONE_MB,
    streams: bool = False,
    durable_client: bool = False,
    former: str | None = None,
    errors: tuple[int, ...] = (),
    self_contained: bool = False,
    docs: OperationDocs | None = None,
    model_budget: bool = False,
) -> Callable[[Handler], Handler]:
    """Register `handler` as the HTTP function for `/api/<route>` (and `/functions/v1/<former>`).

    The function accepts every method so that a wrong one gets the contract's
    405 rather than the host's 404. `errors`, `self_contained` and `docs` are
    the endpoint's facts for the OpenAPI document (shared/platform/openapi.py).
    """
    if rate_limit is not None and not isinstance(rate_limit, Bucket):
        raise TypeError(f"rate_limit must be a shared.platform.rate_limit.Bucket, not {rate_limit!r}")

    def decorate(handler: Handler) -> Handler:
        spec = EndpointSpec(
            name=handler.__name__,
            route=route,
            methods=tuple(m.upper() for m in methods),
            auth=auth,
            body=body,
            response=response,
            rate_limit=rate_limit,
            max_body=max_body,
            summary=(handler.__doc__ or "").strip().splitlines()[0] if handler.__doc__ else "",
            streams=streams,
            former=former,
            feature=handler.__module__.rpartition(".")[2],
            feature_text=_first_paragraph(sys.modules.get(handler.__module__)),
            errors=errors,
            self_contained=self_contained,
            docs=docs,
            model_budget=model_budget,
        )
        if spec.name in ENDPOINTS or (former and former in FORMER_ENDPOINTS):
            raise ValueError(f"endpoint {spec.name} ({former}) is declared twice")
        ENDPOINTS[spec.name] = spec
        if former:
            FORMER_ENDPOINTS[former] = Endpoint(spec, handler)

        if durable_client:
            # The worker checks this annotation against the binding: the client arrives as a JSON string.
            async def entry_with_client(req: Request, client: str) -> Response:
                return await serve(spec, handler, req, durable_client=client)

            entry_with_client.__name__ = spec.name
            function: Any = bp.durable_client_input(client_name="client")(entry_with_client)
        else:

            async def entry(req: Request) -> Response:
                return await serve(spec, handler, req)

            entry.__name__ = spec.name
            function = entry
        bp.route(route=f"{API_PREFIX}/{route}", methods=ALL_METHODS, auth_level=func.AuthLevel.ANONYMOUS)(function)
        return handler

    return decorate


async def serve_former(request: Request, durable_client: Any = None) -> Response:
    """`/functions/v1/<name>`: the endpoint that replaced Edge Function `<name>`, run as at its own path."""
    name = str(request.path_params.get("name") or "")
    endpoint = FORMER_ENDPOINTS.get(name)
    if endpoint is None:
        return not_found(request, f"No function named {name[:100]!r}")
    return await serve(endpoint.spec, endpoint.handler, request, durable_client=durable_client)


def not_found(request: Request, message: str = "Not found") -> Response:
    """The contract's 404 for a path no endpoint serves."""
    request_id = _request_id(request)
    response = error_response(NotFound(message), request_id)
    response.headers["x-request-id"] = request_id
    log_event(
        "request", requestId=request_id, function=None, method=request.method, status=404, path=request.url.path[:200]
    )
    return response


async def serve(spec: EndpointSpec, handler: Handler, request: Request, durable_client: Any = None) -> Response:
    """Run one request through the shared checks and the handler; always answer.

    The request is one span (`<METHOD> /api/<route>`) and one `http.server.request.duration`
    measurement; its id is in every log record written meanwhile and in every error body."""
    from shared.platform.wiring import get_services

    started = time.perf_counter()
    request_id = _request_id(request)
    method = request.method.upper()
    services = get_services()  # first: building the services installs telemetry (the first span counts)
    token = current_request_id.set(request_id)
    try:
        with telemetry.tracer.start_as_current_span(
            f"{method} {spec.path}",
            context=telemetry.incoming_context(request.headers.get("traceparent")),
            kind=telemetry.server_kind(),
            attributes={"http.route": spec.path, "http.request.method": method, "talenti.request_id": request_id},
        ) as span:
            response = await _serve(spec, handler, request, services, request_id, started, durable_client)
            span.set_attribute("http.response.status_code", response.status_code)
            telemetry.mark_error(span, response.status_code)
    finally:
        current_request_id.reset(token)
    telemetry.http_duration.record(
        time.perf_counter() - started,
        {"http.route": spec.path, "http.request.method": method, "http.response.status_code": response.status_code},
    )
    return response


async def _serve(
    spec: EndpointSpec,
    handler: Handler,
    request: Request,
    services: "Services",
    request_id: str,
    started: float,
    durable_client: Any,
) -> Response:
    call = Call(
        request=request,
        request_id=request_id,
        spec=spec,
        services=services,
        client_ip=client_ip(request, services.settings.proxy_hops),
        durable_client=durable_client,
    )
    ip_key = address_key(call.client_ip)
    try:
        method = request.method.upper()
        if method not in spec.methods:
            raise MethodNotAllowed(
                f"Method {request.method} is not allowed; use {', '.join(spec.methods)}",
                headers={"Allow": ", ".join(spec.methods)},
            )
        if any(request.headers.get(name) for name in CREDENTIAL_HEADERS):
            services.rate_limiter.refuse_locked_out(ip_key)
        if spec.auth != ANONYMOUS:
            call.caller = await authenticate(
                request.headers,
                services.verifier,
                services.settings.SERVICE_API_KEY,
                allow_user=spec.auth in (USER, USER_OR_SERVICE),
                allow_service=spec.auth in (SERVICE, USER_OR_SERVICE),
            )
            if call.caller.is_anonymous and not services.settings.ALLOW_ANONYMOUS_SIGN_INS:
                raise Forbidden("Anonymous sign-ins cannot use this service: sign in with an account")
        if spec.rate_limit is not None:
            await services.rate_limiter.check(
                spec.rate_limit, user_key=call.caller.rate_key if call.caller else None, ip_key=ip_key
            )
        if spec.body is not None and method != "GET":
            call.body = await read_model(request, spec.body, spec.max_body)
        if spec.model_budget and call.caller is not None and not call.caller.is_service:
            await services.rate_limiter.spend_model_budget(call.caller.rate_key)  # a valid request only
        response = to_response(await handler(call))
    except ApiError as error:
        if isinstance(error, BadCredentials):  # a guess: counted, and past the budget a 429 instead
            error = await _counted_failure(services, ip_key, error)
        response = error_response(error, request_id)
        call.log_fields.setdefault("error", error.message)
    except Exception:  # the contract: never a stack trace, always a request id
        logging.getLogger("talenti").exception("unhandled error in %s (request %s)", spec.name, request_id)
        response = error_response(ApiError("Internal server error"), request_id)
    response.headers["x-request-id"] = request_id
    log_event(
        "request",
        requestId=request_id,
        function=spec.name,
        method=request.method,
        status=response.status_code,
        durationMs=round((time.perf_counter() - started) * 1000, 1),
        userId=str(call.user_id) if call.user_id else None,
        **call.log_fields,
    )
    return response


async def _counted_failure(services: "Services", ip_key: str, error: ApiError) -> ApiError:
    try:
        await services.rate_limiter.count_failure(ip_key)
    except ApiError as refused:  # 429 past the budget (or 503: the database is down)
        return refused
    return error


def to_response(result: Any, status: int = 200) -> Response:
    if isinstance(result, Response):
        return result
    return json_response(result, status)


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    if isinstance(body, BaseModel):
        body = body.model_dump(mode="json")
    return JSONResponse(body, status_code=status, headers=headers)


def error_response(error: ApiError, request_id: str | None = None) -> Response:
    """The error envelope; with the request's id, so a user's report leads to its log lines."""
    body = error.body()
    if request_id is not None:
        body.setdefault("requestId", request_id)
    return JSONResponse(body, status_code=error.status, headers=error.headers)


async def read_body(request: Request, max_bytes: int) -> bytes:
    """The raw body, refusing (413) anything over `max_bytes` without reading it all."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise PayloadTooLarge(f"Request body is larger than {max_bytes} bytes")
    chunks, size = [], 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > max_bytes:
                raise PayloadTooLarge(f"Request body is larger than {max_bytes} bytes")
            chunks.append(chunk)
    except ClientDisconnect:  # gone, or too slow to send its body (the host cut it off)
        raise RequestTimeout("The request body did not arrive in time") from None
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
        data = json.loads(raw)
    except RecursionError:
        raise BadRequest(f"Request body is nested more than {MAX_JSON_DEPTH} levels deep") from None
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("Request body is not valid JSON") from None
    if _too_deep(data, MAX_JSON_DEPTH):
        raise BadRequest(f"Request body is nested more than {MAX_JSON_DEPTH} levels deep")
    if b"\\u0000" in raw and _has_nul(data):  # PostgreSQL stores no NUL in text or jsonb
        raise BadRequest("Request body contains a NUL character (\\u0000)")
    return data


def _has_nul(data: Any) -> bool:
    stack = [data]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            if "\x00" in node:
                return True
        elif isinstance(node, dict):
            stack.extend(node.keys())
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return False


def _too_deep(data: Any, limit: int) -> bool:
    # Iterative, so that measuring depth cannot itself exhaust the stack.
    stack = [(data, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, (dict, list)):
            if depth > limit:
                return True
            children = node.values() if isinstance(node, dict) else node
            stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


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


def client_ip(request: Request, proxy_hops: int) -> str:
    """The client's address as the platform vouches for it.

    Azure's front ends (App Service/Flex, and Container Apps' Envoy ingress)
    append the address they saw to X-Forwarded-For; whatever a client sent
    stays to its left. So the entry `proxy_hops` from the right is the one no
    client can forge; with no trusted proxy (the local host) the socket's peer is.
    """
    if proxy_hops > 0:
        entries = [e.strip() for e in (request.headers.get("x-forwarded-for") or "").split(",") if e.strip()]
        if len(entries) >= proxy_hops:
            return _strip_port(entries[-proxy_hops])
    return request.client.host if request.client else "unknown"


def _strip_port(address: str) -> str:
    if address.startswith("["):  # [ipv6]:port
        return address[1:].split("]")[0]
    if address.count(":") == 1:  # ipv4:port
        return address.split(":")[0]
    return address


def _request_id(request: Request) -> str:
    given = request.headers.get("x-request-id") or ""
    return given if _REQUEST_ID.match(given) else uuid.uuid4().hex
