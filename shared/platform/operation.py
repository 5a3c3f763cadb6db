"""What an endpoint's OpenAPI operation says beyond its declaration: declared on
its `@api(..., docs=...)` next to the route (a body read by hand, answers of its
own, extra parameters), never in a table keyed by its name.

shared/platform/openapi.py builds the document and hands each `OperationDocs`
hook a `Document` to register the schemas it refers to.
"""

from __future__ import annotations

from typing import Any, ClassVar, Protocol

JSON = "application/json"
FORMER_TAG = "former Edge Functions"  # the group of the former-name aliases (collapsed on /api/docs)
BODY_ERRORS = (400, 408, 413, 415)  # whatever reads a request body
REQUEST_ID_HEADER = {
    "x-request-id": {
        "description": "The request's id (also in the logs); taken from the request's "
        "own `x-request-id` when it is a plain token",
        "required": True,
        "schema": {"type": "string"},
    }
}
RETRY_AFTER_HEADER = {
    "description": "Seconds to wait before trying again",
    "schema": {"type": "string", "pattern": "^[0-9]+$"},
}


class Document(Protocol):
    """The document being built: component schemas by reference."""

    def ref(self, model: Any) -> dict[str, str]: ...

    def json(self, model: Any) -> dict[str, Any]: ...


class OperationDocs:
    """The hooks an endpoint may fill; each default adds nothing."""

    security: ClassVar[list[dict[str, list[str]]] | None] = None

    def parameters(self, method: str) -> list[dict[str, Any]]:
        return []

    def request_body(self, document: Document) -> dict[str, Any] | None:
        return None

    def statuses(self, method: str, statuses: set[int]) -> set[int]:
        return statuses

    def responses(self, document: Document, method: str) -> dict[str, Any]:
        return {}


def answer(description: str, content: dict[str, Any] | None = None, **headers: Any) -> dict[str, Any]:
    """One response object with the request-id header every answer carries."""
    response: dict[str, Any] = {"description": description, "headers": {**REQUEST_ID_HEADER, **headers}}
    if content is not None:
        response["content"] = content
    return response
