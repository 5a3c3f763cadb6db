"""The OpenAPI 3.1 document, generated from the endpoint declarations
(shared/platform/http.py) and the same pydantic models that validate their requests.

Everything about one endpoint comes from its `@api(...)`: the errors its
service raises (`errors=`), whether it needs no dependency (`self_contained=`)
and what its operation says beyond that (`docs=`, shared/platform/operation.py).
This module knows no endpoint by name. Operations are tagged with their feature
(the blueprint module that declares them); the former Edge Function paths form
one group of their own, shown collapsed on the API page. schemathesis checks
the app against the document in CI (tests/api_contract).
"""

from __future__ import annotations

import re
from typing import Any, Literal, get_args, get_origin, get_type_hints

from pydantic import BaseModel

from shared.platform.http import ANONYMOUS, SERVICE, USER, USER_OR_SERVICE, EndpointSpec
from shared.platform.models import ErrorResponse
from shared.platform.operation import (
    BODY_ERRORS,
    FORMER_TAG,
    JSON,
    REQUEST_ID_HEADER,
    RETRY_AFTER_HEADER,
    OperationDocs,
)

ERROR_TEXT = {
    400: "Invalid request: malformed JSON, wrong types, missing fields, values out of range",
    401: "Missing or invalid credentials",
    402: "Usage limit: the caller's daily AI budget is spent, or the AI provider reports exhausted credits or quota",
    403: "Authenticated but not allowed",
    404: "Not found, or not visible to the caller",
    408: "The request body did not arrive in time",
    409: "The record's state does not allow this now (e.g. a turn on an interview that has ended)",
    413: "Body larger than the endpoint's limit",
    415: "Wrong content type",
    422: "Understood but cannot be processed",
    429: "Rate limited (`retryAfter` in the body and the Retry-After header)",
    500: "Internal error (`requestId` in the body)",
    502: "An upstream service (AI, ACS, Speech, email, storage) failed",
    503: "An upstream service is not configured, or a dependency (the database) is unavailable for now",
}
# Path parameters by name; any other is a plain string.
PATH_PARAMETERS = {"interviewId": {"type": "string", "format": "uuid"}}

_SECURITY: dict[str, list[dict[str, list[str]]]] = {
    USER: [{"supabaseToken": []}],
    SERVICE: [{"serviceKey": []}],
    USER_OR_SERVICE: [{"supabaseToken": []}, {"serviceKey": []}],
    ANONYMOUS: [],
}
_PARAMETER = re.compile(r"\{([A-Za-z_]\w*)(?::[^}]*)?\}")
_REQUEST_ID = REQUEST_ID_HEADER
_RETRY_AFTER = RETRY_AFTER_HEADER
_JSON = JSON


class _Document:
    """Collects component schemas while operations are built."""

    def __init__(self) -> None:
        self.schemas: dict[str, Any] = {}

    def ref(self, model: Any) -> dict[str, str]:
        if isinstance(model, type) and issubclass(model, BaseModel):
            definition = model.model_json_schema(ref_template="#/components/schemas/{model}")
        else:  # a flat TypedDict of strings and literals
            definition = _typed_dict_schema(model)
        name = model.__name__
        for nested_name, nested in definition.pop("$defs", {}).items():
            self.schemas.setdefault(nested_name, nested)
        self.schemas.setdefault(name, definition)
        return {"$ref": f"#/components/schemas/{name}"}

    def json(self, model: Any) -> dict[str, Any]:
        return {_JSON: {"schema": self.ref(model)}}

    def error(self, status: int, **headers: Any) -> dict[str, Any]:
        return {
            "description": ERROR_TEXT[status],
            "headers": {**_REQUEST_ID, **headers},
            "content": self.json(ErrorResponse),
        }


def _typed_dict_schema(typed_dict: Any) -> dict[str, Any]:
    properties = {}
    for field, annotation in get_type_hints(typed_dict).items():
        choices = get_args(annotation) if get_origin(annotation) is Literal else ()
        properties[field] = {"type": "string", "enum": list(choices)} if choices else {"type": "string"}
    return {
        "type": "object",
        "title": typed_dict.__name__,
        "required": sorted(typed_dict.__required_keys__),
        "properties": properties,
    }


def build_openapi(specs: dict[str, EndpointSpec], version: str) -> dict[str, Any]:
    """Every endpoint at its /api/ path and, when it replaced an Edge Function, at
    /functions/v1/<name> too (same operation, its own operationId)."""
    document = _Document()
    paths: dict[str, Any] = {}
    published = [(spec.path, spec.name, spec) for spec in specs.values()]
    published += [(spec.former_path, f"{spec.name}_former", spec) for spec in specs.values() if spec.former_path]
    for path, name, spec in sorted(published, key=lambda item: item[0]):
        for method in spec.methods:
            operation_id = f"{name}_{method.lower()}" if len(spec.methods) > 1 else name
            paths.setdefault(path, {})[method.lower()] = _operation(document, spec, path, method, operation_id)
    features = {spec.feature: spec.feature_text for spec in specs.values()}  # in declaration order
    tags = [{"name": feature, "description": text} for feature, text in features.items()]
    tags.append(
        {"name": FORMER_TAG, "description": "The same operations at the paths supabase-js's `functions.invoke` calls"}
    )
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Talenti API",
            "version": version,
            "description": "Every response carries `x-request-id`. Request bodies ignore unknown fields, "
            "accept null wherever a field is optional, and may not contain the NUL "
            "character (U+0000), which PostgreSQL cannot store (400). Endpoints that "
            "replaced a Supabase Edge Function are also served at "
            "`/functions/v1/<its name>`.",
        },
        "tags": tags,
        "paths": paths,
        "components": {
            "schemas": document.schemas,
            "securitySchemes": {
                "supabaseToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "A Supabase access token",
                },
                "serviceKey": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "x-service-key",
                    "description": "SERVICE_API_KEY, for schedulers and operators",
                },
                "acsWebhookSecret": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "x-acs-webhook-secret",
                    "description": "ACS_WEBHOOK_SECRET (or the previous one during a rotation)",
                },
                "acsWebhookSecretQuery": {
                    "type": "apiKey",
                    "in": "query",
                    "name": "secret",
                    "description": "ACS_WEBHOOK_SECRET as a query parameter",
                },
            },
        },
    }


def _operation(document: _Document, spec: EndpointSpec, path: str, method: str, operation_id: str) -> dict[str, Any]:
    former = bool(spec.former) and path == spec.former_path
    operation: dict[str, Any] = {"operationId": operation_id, "tags": [FORMER_TAG if former else spec.feature]}
    if spec.summary:
        operation["summary"] = spec.summary
    if former:
        operation["description"] = f"The former Edge Function `{spec.former}`: the same endpoint as `{spec.path}`."
    operation["security"] = _SECURITY[spec.auth]
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": PATH_PARAMETERS.get(name, {"type": "string"})}
        for name in _PARAMETER.findall(path)
    ]
    special = spec.docs
    if special is not None:
        parameters += special.parameters(method)
        if special.security is not None:
            operation["security"] = special.security
    if parameters:
        operation["parameters"] = parameters
    if method not in ("GET", "OPTIONS"):
        body = special.request_body(document) if special else None
        if body is None and spec.body is not None:
            # An empty body reads as {}: it may be left out when no field is required.
            required = bool(spec.body.model_json_schema().get("required"))
            body = {"required": required, "content": document.json(spec.body)}
        if body is not None:
            operation["requestBody"] = body
    operation["responses"] = _responses(document, spec, method, special)
    return operation


def _responses(document: _Document, spec: EndpointSpec, method: str, special: OperationDocs | None) -> dict[str, Any]:
    statuses = {500, *spec.errors}
    if spec.auth != ANONYMOUS:
        statuses |= {401, 403}
    if spec.rate_limit is not None:
        statuses.add(429)
    if spec.body is not None and method != "GET":
        statuses |= set(BODY_ERRORS)
    if not spec.self_contained:
        statuses.add(503)
    if special is not None:
        statuses = special.statuses(method, statuses)

    responses: dict[str, Any] = {}
    own = special.responses(document, method) if special else {}
    if "200" not in own:
        responses["200"] = _ok(document, spec)
    for status in sorted(statuses):
        if str(status) in own:
            continue
        if status == 429:
            responses["429"] = document.error(429, **{"Retry-After": {**_RETRY_AFTER, "required": True}})
        elif status == 503:
            responses["503"] = document.error(503, **{"Retry-After": _RETRY_AFTER})
        else:
            responses[str(status)] = document.error(status)
    responses.update(own)
    return dict(sorted(responses.items()))


def _ok(document: _Document, spec: EndpointSpec) -> dict[str, Any]:
    ok: dict[str, Any] = {"description": "OK", "headers": dict(_REQUEST_ID)}
    if spec.response is not None:
        ok["content"] = document.json(spec.response)
    return ok
