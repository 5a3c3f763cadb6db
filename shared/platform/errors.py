"""Errors that carry the contract's HTTP status (API.md "Errors").

Services raise these; the HTTP layer turns them into the JSON error envelope.
Their messages are shown to callers, so they never hold secrets or SQL.
"""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    status = 500
    default_message = "Internal server error"

    def __init__(
        self,
        message: str | None = None,
        *,
        details: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ):
        self.message = message or self.default_message
        self.details = details
        self.headers = headers or {}
        self.extra = extra or {}
        super().__init__(self.message)

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.message}
        if self.details:
            body["details"] = self.details
        body.update(self.extra)
        return body


class BadRequest(ApiError):
    status, default_message = 400, "Bad request"


class Unauthorized(ApiError):
    status, default_message = 401, "Authentication required"


class BadCredentials(Unauthorized):
    """A credential was presented and is wrong (a guess counts against the address);
    a missing one is a plain Unauthorized."""


class PaymentRequired(ApiError):
    status, default_message = 402, "Usage limit reached: the AI provider reports exhausted credits or quota"


class Forbidden(ApiError):
    status, default_message = 403, "You are not allowed to do this"


class NotFound(ApiError):
    status, default_message = 404, "Not found"


class MethodNotAllowed(ApiError):
    status, default_message = 405, "Method not allowed"


class Conflict(ApiError):
    status, default_message = 409, "The request conflicts with the record's current state"


class RequestTimeout(ApiError):
    status, default_message = 408, "The request body did not arrive in time"


class PayloadTooLarge(ApiError):
    status, default_message = 413, "Request body is too large"


class UnsupportedMediaType(ApiError):
    status, default_message = 415, "Unsupported content type"


class Unprocessable(ApiError):
    status, default_message = 422, "The request could not be processed"


class RateLimited(ApiError):
    status, default_message = 429, "Rate limit exceeded, please try again later"

    def __init__(self, retry_after: int, message: str | None = None):
        retry_after = max(1, int(retry_after))
        super().__init__(message, headers={"Retry-After": str(retry_after)}, extra={"retryAfter": retry_after})


class UpstreamError(ApiError):
    status, default_message = 502, "An upstream service failed"


class NotConfigured(ApiError):
    status, default_message = 503, "This service is not configured"


class ServiceUnavailable(ApiError):
    """A dependency is down for now (not misconfigured): try again shortly."""

    status, default_message = 503, "Service temporarily unavailable"

    def __init__(self, message: str | None = None, retry_after: int = 5):
        super().__init__(message, headers={"Retry-After": str(retry_after)}, extra={"retryAfter": retry_after})
