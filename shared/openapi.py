"""The OpenAPI 3.1 document, generated from the registered HTTP functions and
the same pydantic models that validate their requests."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from shared.http import ANONYMOUS, SERVICE, USER, USER_OR_SERVICE, EndpointSpec
from shared.models import ErrorResponse

_ERRORS = {
    "400": "Invalid request", "401": "Missing or invalid credentials", "403": "Not allowed",
    "404": "Not found", "405": "Wrong method", "413": "Body too large", "415": "Wrong content type",
    "429": "Rate limited", "500": "Internal error",
}
_SECURITY = {
    USER: [{"supabaseToken": []}],
    SERVICE: [{"serviceKey": []}],
    USER_OR_SERVICE: [{"supabaseToken": []}, {"serviceKey": []}],
    ANONYMOUS: [],
}


def build_openapi(specs: dict[str, EndpointSpec], version: str) -> dict[str, Any]:
    """Every endpoint at its /api/ path and, when it replaced an Edge Function, at /functions/v1/<name>."""
    schemas: dict[str, Any] = {}
    paths: dict[str, Any] = {}

    def ref(model: type[BaseModel]) -> dict:
        definition = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, nested in definition.pop("$defs", {}).items():
            schemas.setdefault(name, nested)
        schemas.setdefault(model.__name__, definition)
        return {"$ref": f"#/components/schemas/{model.__name__}"}

    error = {"content": {"application/json": {"schema": ref(ErrorResponse)}}}
    published = [(spec.path, spec.name, spec) for spec in specs.values()]
    published += [(spec.former_path, f"{spec.name}_former", spec) for spec in specs.values() if spec.former_path]
    for path, name, spec in sorted(published, key=lambda item: item[0]):
        methods = spec.methods
        for method in methods:
            operation: dict[str, Any] = {"operationId": f"{name}_{method.lower()}" if len(methods) > 1 else name}
            if spec.summary:
                operation["summary"] = spec.summary
            operation["security"] = _SECURITY[spec.auth]
            if spec.body is not None and method != "GET":
                operation["requestBody"] = {"required": True,
                                            "content": {"application/json": {"schema": ref(spec.body)}}}
            if spec.streams:
                ok = {"description": "Server-Sent Events", "content": {"text/event-stream": {"schema": {"type": "string"}}}}
            elif spec.response is not None:
                ok = {"description": "OK", "content": {"application/json": {"schema": ref(spec.response)}}}
            else:
                ok = {"description": "OK"}
            responses = {"200": ok}
            for status, text in _ERRORS.items():
                if status in ("401", "403") and spec.auth == ANONYMOUS:
                    continue
                if status == "429" and not spec.rate_limit:
                    continue
                responses[status] = {"description": text, **error}
            operation["responses"] = responses
            paths.setdefault(path, {})[method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": "Talenti API", "version": version},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "supabaseToken": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
                "serviceKey": {"type": "apiKey", "in": "header", "name": "x-service-key"},
            },
        },
    }
