"""The OpenAPI 3.1 document, generated from the endpoint declarations
(shared/platform/http.py) and the same pydantic models that validate their requests.

What a declaration cannot say (which errors a service raises, a body read by
hand, the stream's events) is stated once here, per endpoint name. A test keeps
every name here a declared endpoint, and schemathesis checks the app against
the document in CI (tests/api_contract).
"""

from __future__ import annotations

import re
from typing import Any, ClassVar, Literal, get_args, get_origin, get_type_hints

from pydantic import BaseModel

from shared.platform.http import ANONYMOUS, SERVICE, USER, USER_OR_SERVICE, EndpointSpec
from shared.platform.models import ErrorResponse

ERROR_TEXT = {
    400: "Invalid request: malformed JSON, wrong types, missing fields, values out of range",
    401: "Missing or invalid credentials",
    402: "The AI provider reports exhausted credits or quota",
    403: "Authenticated but not allowed",
    404: "Not found, or not visible to the caller",
    408: "The request body did not arrive in time",
    413: "Body larger than the endpoint's limit",
    415: "Wrong content type",
    422: "Understood but cannot be processed",
    429: "Rate limited (`retryAfter` in the body and the Retry-After header)",
    500: "Internal error (`requestId` in the body)",
    502: "An upstream service (AI, ACS, Speech, email, storage) failed",
    503: "An upstream service is not configured, or a dependency (the database) is unavailable for now",
}
BODY_ERRORS = (400, 408, 413, 415)  # whatever reads a request body

# Errors and other answers each endpoint's service adds to what its declaration implies.
OUTCOMES: dict[str, tuple[int, ...]] = {
    "ai_interviewer": (402, 404, 502),
    "ai_interviewer_stream": (402, 404, 502),
    "extract_requirements": (402, 502),
    "parse_resume": (*BODY_ERRORS, 402, 404, 422, 502),
    "generate_shortlist": (404,),
    "score_interview": (202, 402, 404, 422, 502),
    "score_interview_status": (202, 400, 402, 404, 422, 502),
    "acs_token": (502,),
    "acs_webhook": BODY_ERRORS,
    "speech_token": (502,),
    "invitations_send": (404, 502),
    "data_cleanup": (404,),
    "api_docs_page": (404,),
    "api_docs_asset": (404,),
}
# Endpoints that need neither the database nor an upstream service: never 503.
SELF_CONTAINED = frozenset({"openapi", "api_docs_page", "api_docs_asset"})
# Path parameters by name; any other is a plain string.
PATH_PARAMETERS = {"interviewId": {"type": "string", "format": "uuid"}}

_SECURITY: dict[str, list[dict[str, list[str]]]] = {
    USER: [{"supabaseToken": []}],
    SERVICE: [{"serviceKey": []}],
    USER_OR_SERVICE: [{"supabaseToken": []}, {"serviceKey": []}],
    ANONYMOUS: [],
}
_PARAMETER = re.compile(r"\{([A-Za-z_]\w*)(?::[^}]*)?\}")
_REQUEST_ID = {
    "x-request-id": {
        "description": "The request's id (also in the logs); taken from the request's "
        "own `x-request-id` when it is a plain token",
        "required": True,
        "schema": {"type": "string"},
    }
}
_RETRY_AFTER = {
    "description": "Seconds to wait before trying again",
    "schema": {"type": "string", "pattern": "^[0-9]+$"},
}
_JSON = "application/json"


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
    operation: dict[str, Any] = {"operationId": operation_id}
    if spec.summary:
        operation["summary"] = spec.summary
    if spec.former and path == spec.former_path:
        operation["description"] = f"The former Edge Function `{spec.former}`: the same endpoint as `{spec.path}`."
    operation["security"] = _SECURITY[spec.auth]
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": PATH_PARAMETERS.get(name, {"type": "string"})}
        for name in _PARAMETER.findall(path)
    ]
    special = _SPECIAL.get(spec.name)
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


def _responses(document: _Document, spec: EndpointSpec, method: str, special: _Special | None) -> dict[str, Any]:
    statuses = {500, *OUTCOMES.get(spec.name, ())}
    if spec.auth != ANONYMOUS:
        statuses |= {401, 403}
    if spec.rate_limit is not None:
        statuses.add(429)
    if spec.body is not None and method != "GET":
        statuses |= set(BODY_ERRORS)
    if spec.name not in SELF_CONTAINED:
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
        if status == 202:
            responses["202"] = _scoring_accepted(document)
        elif status == 429:
            responses["429"] = document.error(429, **{"Retry-After": {**_RETRY_AFTER, "required": True}})
        elif status == 503:
            responses["503"] = document.error(503, **{"Retry-After": _RETRY_AFTER})
        else:
            responses[str(status)] = document.error(status)
    responses.update(own)
    return dict(sorted(responses.items()))


def _ok(document: _Document, spec: EndpointSpec) -> dict[str, Any]:
    if spec.streams:
        return {
            "description": _STREAM_TEXT,
            "headers": dict(_REQUEST_ID),
            "content": {"text/event-stream": {"schema": _stream_event(document)}},
        }
    ok: dict[str, Any] = {"description": "OK", "headers": dict(_REQUEST_ID)}
    if spec.response is not None:
        ok["content"] = document.json(spec.response)
    return ok


_STREAM_TEXT = (
    'Server-Sent Events, one `data:` line each: `{"content": "<delta>"}` as the reply arrives, then '
    '`{"done": true, "message": ..., "detectedCompetencies": [...], "competencyCovered": ...}` '
    '(or `{"error": "..."}` when the model fails mid-reply), and last `[DONE]`. The schema '
    "describes one event, as OpenAPI 3.1 tools read an event stream's schema."
)


def _stream_event(document: _Document) -> dict[str, Any]:
    from shared.interviewer.models import STREAM_END, StreamDelta, StreamDone, StreamFailure

    def json_data(model: type[BaseModel]) -> dict[str, Any]:
        return {"type": "string", "contentMediaType": _JSON, "contentSchema": document.ref(model)}

    return {
        "type": "object",
        "required": ["data"],
        "properties": {
            "event": {"type": "string", "const": "message"},
            "data": {
                "anyOf": [
                    json_data(StreamDelta),
                    json_data(StreamDone),
                    json_data(StreamFailure),
                    {"type": "string", "const": STREAM_END},
                ]
            },
        },
    }


def _scoring_accepted(document: _Document) -> dict[str, Any]:
    from shared.scoring.models import ScoringAccepted

    return {
        "description": "Scoring still runs: poll `statusQueryGetUri` (also the Location header)",
        "headers": {
            **_REQUEST_ID,
            "Location": {
                "description": "The status route, GET /api/ai/score/{interviewId}",
                "required": True,
                "schema": {"type": "string", "format": "uri"},
            },
            "Retry-After": {**_RETRY_AFTER, "required": True},
        },
        "content": document.json(ScoringAccepted),
    }


class _Special:
    """What one endpoint does beyond its declaration (a body read by hand, its own answers)."""

    security: ClassVar[list[dict[str, list[str]]] | None] = None

    def parameters(self, method: str) -> list[dict[str, Any]]:
        return []

    def request_body(self, document: _Document) -> dict[str, Any] | None:
        return None

    def statuses(self, method: str, statuses: set[int]) -> set[int]:
        return statuses

    def responses(self, document: _Document, method: str) -> dict[str, Any]:
        return {}


class _Health(_Special):
    def responses(self, document: _Document, method: str) -> dict[str, Any]:
        from shared.platform.health import HealthReport

        report = document.json(HealthReport)
        return {
            "200": {"description": "Up, database reachable", "headers": dict(_REQUEST_ID), "content": report},
            "503": {
                "description": "Degraded: the database cannot be reached",
                "headers": dict(_REQUEST_ID),
                "content": report,
            },
        }


class _OpenApi(_Special):
    def responses(self, document: _Document, method: str) -> dict[str, Any]:
        return {
            "200": {
                "description": "This document",
                "headers": dict(_REQUEST_ID),
                "content": {_JSON: {"schema": {"type": "object", "required": ["openapi", "paths"]}}},
            }
        }


class _ParseResume(_Special):
    def request_body(self, document: _Document) -> dict[str, Any] | None:
        from shared.resumes.models import ParseResumeRequest

        upload = {
            "type": "object",
            "required": ["file"],
            "properties": {
                "file": {
                    "type": "string",
                    "format": "binary",
                    "contentMediaType": "application/pdf",
                    "description": "The CV, a PDF of at most 10 MB",
                }
            },
        }
        return {
            "required": True,
            "description": "The path of the caller's CV in CV storage, or the CV itself",
            "content": {**document.json(ParseResumeRequest), "multipart/form-data": {"schema": upload}},
        }


class _AcsWebhook(_Special):
    # The validation handshakes need no secret; events do (401 without it).
    security: ClassVar[list[dict[str, list[str]]] | None] = [
        {"acsWebhookSecret": []},
        {"acsWebhookSecretQuery": []},
        {},
    ]

    def parameters(self, method: str) -> list[dict[str, Any]]:
        if method == "OPTIONS":
            return [
                {
                    "name": "WebHook-Request-Origin",
                    "in": "header",
                    "required": True,
                    "description": "The sender of a CloudEvents abuse-protection handshake",
                    "schema": {
                        "type": "string",
                        "minLength": 1,
                        "maxLength": 255,
                        "pattern": r"^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$",
                    },
                }
            ]
        return []

    def request_body(self, document: _Document) -> dict[str, Any] | None:
        shapes = (
            "An Event Grid event (`id`, `eventType`, `subject`, `eventTime`, `data`, `dataVersion`) or a "
            "CloudEvent (`id`, `type`, `source`, `specversion`, `data`); a validation event "
            "(Microsoft.EventGrid.SubscriptionValidationEvent) is answered with its code. An item that "
            "is not a readable event is reported in `failed`; the others are processed."
        )
        schema = {
            "anyOf": [
                {"type": "array", "minItems": 1, "description": "A batch of events. " + shapes},
                {"type": "object", "minProperties": 1, "description": "One CloudEvent. " + shapes},
            ]
        }
        example = [
            {
                "id": "1",
                "eventType": "Microsoft.EventGrid.SubscriptionValidationEvent",
                "subject": "",
                "eventTime": "2026-01-01T00:00:00Z",
                "dataVersion": "1",
                "data": {"validationCode": "512d38b6-c7b8-40c8-89fe-f46f9e9622b6"},
            }
        ]
        return {"required": True, "content": {_JSON: {"schema": schema, "example": example}}}

    def statuses(self, method: str, statuses: set[int]) -> set[int]:
        if method == "OPTIONS":
            return {400, 500, 503}
        return statuses | {401}

    def responses(self, document: _Document, method: str) -> dict[str, Any]:
        from shared.calls.models import WebhookResponse

        if method == "OPTIONS":
            allowed = {"description": "The echoed origin", "required": True, "schema": {"type": "string"}}
            return {
                "200": {
                    "description": "The CloudEvents handshake: the sender is allowed",
                    "headers": {
                        **_REQUEST_ID,
                        "WebHook-Allowed-Origin": allowed,
                        "WebHook-Allowed-Rate": {"required": True, "schema": {"type": "string"}},
                    },
                }
            }
        validation = {
            "type": "object",
            "required": ["validationResponse"],
            "properties": {"validationResponse": {"type": "string"}},
        }
        return {
            "200": {
                "description": "Events processed, or the Event Grid validation handshake answered",
                "headers": dict(_REQUEST_ID),
                "content": {_JSON: {"schema": {"anyOf": [document.ref(WebhookResponse), validation]}}},
            }
        }


class _ApiDocsPage(_Special):
    def responses(self, document: _Document, method: str) -> dict[str, Any]:
        return {
            "200": {
                "description": "The interactive API page",
                "headers": dict(_REQUEST_ID),
                "content": {"text/html": {"schema": {"type": "string"}}},
            }
        }


class _ApiDocsAsset(_Special):
    def responses(self, document: _Document, method: str) -> dict[str, Any]:
        text = {"schema": {"type": "string"}}
        return {
            "200": {
                "description": "A static file of the API page",
                "headers": dict(_REQUEST_ID),
                "content": {
                    "text/javascript": text,
                    "text/css": text,
                    "image/png": {"schema": {"type": "string", "format": "binary"}},
                },
            }
        }


_SPECIAL: dict[str, _Special] = {
    "health": _Health(),
    "openapi": _OpenApi(),
    "parse_resume": _ParseResume(),
    "acs_webhook": _AcsWebhook(),
    "api_docs_page": _ApiDocsPage(),
    "api_docs_asset": _ApiDocsAsset(),
}
