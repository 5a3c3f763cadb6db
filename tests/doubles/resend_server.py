"""Resend email API double.

  POST /emails   ``Authorization: Bearer <api_key>`` -> 200 {"id": "<uuid>"}
                 missing key 401 missing_api_key, wrong key 403 invalid_api_key,
                 missing from/to/subject 422 missing_required_field.
                 An ``Idempotency-Key`` seen before replays the first answer
                 (409 if the payload differs), as Resend does.
Errors use Resend's shape {"statusCode": N, "name": "...", "message": "..."}.

How the resend 2.52 SDK is pointed here (read from its source):
  * The base URL is the module global ``resend.api_url``, read on every call;
    at import it defaults to env ``RESEND_API_URL`` or https://api.resend.com.
    The key is the global ``resend.api_key`` (env ``RESEND_API_KEY``).
        resend.api_url = double.url; resend.api_key = double.api_key
    Both are process-wide: restore them after the test.
  * ``resend.Emails.send`` is synchronous and uses ``requests`` through
    ``resend.default_http_client`` (``RequestsClient(timeout=30)``).
    ``resend.Emails.send_async`` uses httpx through
    ``resend.default_async_http_client`` (``HTTPXClient(timeout=30)``).
    For timeout tests swap in ``resend.RequestsClient(timeout=0.5)`` /
    ``resend.HTTPXClient(timeout=0.5)`` and set ``double.delay_seconds``.
  * Any transport failure (timeout, refused) surfaces as ``ResendError`` with
    code 500 and error_type "HttpClientError"; 422 validation_error ->
    ``resend.exceptions.ValidationError``; 500 application_error ->
    ``ApplicationError``; an unknown (status, name) pair -> plain ``ResendError``.
"""

from __future__ import annotations

import uuid
from typing import Any

from .base import RecordedRequest, Reply, ServiceDouble, json_reply

_ERROR_NAMES = {
    400: "validation_error",
    401: "missing_api_key",
    403: "invalid_api_key",
    404: "not_found",
    409: "invalid_idempotent_request",
    422: "validation_error",
    429: "rate_limit_exceeded",
    500: "application_error",
}


class ResendDouble(ServiceDouble):
    def __init__(self, api_key: str = "re_test_key") -> None:
        super().__init__()
        self.api_key = api_key
        self._reset_state()

    def _reset_state(self) -> None:
        self.sent_emails: list[dict] = []  # {"id", "from", "to", "subject", "html", "text", "payload"}
        self._idempotent: dict[str, tuple[Any, Reply]] = {}

    def reset(self) -> None:
        super().reset()
        with self._lock:
            self._reset_state()

    def error_body(self, status: int, path: str) -> Any:
        return resend_error(status, _ERROR_NAMES.get(status, "application_error"), f"Injected failure {status}")

    def fail_validation(self, message: str = "Invalid `to` field.", times: int = 1) -> None:
        self.fail_next(422, resend_error(422, "validation_error", message), times=times)

    def handle(self, request: RecordedRequest) -> Reply:
        if (request.method, request.path) != ("POST", "/emails"):
            return json_reply(404, resend_error(404, "not_found", "The requested endpoint does not exist."))
        scheme, _, key = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            return json_reply(
                401,
                resend_error(
                    401,
                    "missing_api_key",
                    "Missing API key in the authorization header. Include the following header "
                    "Authorization: Bearer YOUR_API_KEY in the request.",
                ),
            )
        if key.strip() != self.api_key:
            return json_reply(403, resend_error(403, "invalid_api_key", "API key is invalid"))
        payload = request.json
        if not isinstance(payload, dict):
            return json_reply(422, resend_error(422, "validation_error", "Invalid JSON body."))
        for name in ("from", "to", "subject"):
            if not payload.get(name):
                return json_reply(422, resend_error(422, "missing_required_field", f"Missing `{name}` field."))

        idempotency_key = request.headers.get("idempotency-key")
        with self._lock:
            if idempotency_key in self._idempotent:
                first_payload, first_reply = self._idempotent[idempotency_key]
                if first_payload == payload:
                    return first_reply
                return json_reply(
                    409,
                    resend_error(
                        409, "invalid_idempotent_request", "Same idempotency key used with a different request payload."
                    ),
                )
            email_id = str(uuid.uuid4())
            to = payload["to"]
            self.sent_emails.append(
                {
                    "id": email_id,
                    "from": payload["from"],
                    "to": to if isinstance(to, list) else [to],
                    "subject": payload["subject"],
                    "html": payload.get("html"),
                    "text": payload.get("text"),
                    "payload": payload,
                }
            )
            reply = json_reply(200, {"id": email_id})
            if idempotency_key:
                self._idempotent[idempotency_key] = (payload, reply)
        return reply


def resend_error(status: int, name: str, message: str) -> dict:
    return {"statusCode": status, "name": name, "message": message}
