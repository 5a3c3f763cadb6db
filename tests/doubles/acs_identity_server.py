"""Azure Communication Services Identity double (api-version 2023-10-01 shapes).

Routes:
  POST   /identities                           create (201; with a token when
                                               ``createTokenWithScopes`` is non-empty)
  POST   /identities/{id}/:issueAccessToken    200 {token, expiresOn}; 404 IdentityNotFound
  POST   /identities/{id}/:revokeAccessTokens  204
  DELETE /identities/{id}                      204

Every request must carry a valid HMAC-SHA256 signature, checked the way
azure-communication-identity 1.5 computes it (``_shared/policy.py``):
  string to sign = METHOD \\n PATH_AND_QUERY \\n x-ms-date;HOST;x-ms-content-sha256
with the base64-decoded access key. Three details from that source:
  * HOST is the client's endpoint with the scheme stripped, so it includes the
    port; it equals the Host header only if the endpoint has no trailing slash
    -> pass ``endpoint=double.url`` exactly.
  * The async client signs the percent-*decoded* path and query
    (``decode_url=True``), so the double decodes the request target too.
  * x-ms-content-sha256 is the base64 SHA-256 of the body ("" when empty).
A bad signature answers 401 and counts in ``rejected_requests``.

Point the SDK at it (no retries, so injected 500/503s surface at once):
  CommunicationIdentityClient(double.url, AzureKeyCredential(double.access_key),
                              retry_total=0)
Note: the SDK returns ``AccessToken.expires_on`` as the raw ISO-8601 string
from the wire (e.g. "2026-11-26T10:00:00.1234567+00:00"), not an int.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import uuid
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import unquote

from .base import RecordedRequest, Reply, ServiceDouble, json_reply

VALID_SCOPES = {"chat", "voip", "chat.join", "chat.join.limited", "voip.join"}
MAX_CLOCK_SKEW = timedelta(minutes=15)


class AcsIdentityDouble(ServiceDouble):
    def __init__(
        self, access_key: str | None = None, resource_id: str = "2dee53b4-368b-45b4-ab52-8493fb117652"
    ) -> None:
        """``access_key``: base64 key the client must sign with (random by default)."""
        super().__init__()
        self.access_key = access_key or base64.b64encode(os.urandom(32)).decode()
        self.resource_id = resource_id
        self._reset_state()

    def _reset_state(self) -> None:
        self.identities: dict[str, list[str]] = {}  # id -> tokens issued to it
        self.deleted_identities: list[str] = []
        self.identities_created = 0
        self.tokens_issued = 0
        self.rejected_requests = 0

    def reset(self) -> None:
        super().reset()
        with self._lock:
            self._reset_state()

    @property
    def connection_string(self) -> str:
        # Note: from_connection_string forces https, so it cannot reach this double.
        return f"endpoint={self.url}/;accesskey={self.access_key}"

    def error_body(self, status: int, path: str) -> Any:
        codes = {500: "InternalServerError", 503: "ServiceUnavailable", 429: "TooManyRequests"}
        return _acs_error(codes.get(status, str(status)), f"Injected failure {status}")

    # -- protocol --------------------------------------------------------------

    def handle(self, request: RecordedRequest) -> Reply:
        problem = self._signature_problem(request)
        if problem:
            with self._lock:
                self.rejected_requests += 1
            return json_reply(401, _acs_error("Unauthorized", problem))
        if "api-version" not in request.query:
            return json_reply(
                400, _acs_error("MissingApiVersionParameter", "The api-version query parameter is required.")
            )

        parts = request.path.strip("/").split("/")
        body = request.json if isinstance(request.json, dict) else {}
        if request.method == "POST" and parts == ["identities"]:
            return self._create(body)
        if len(parts) == 3 and parts[0] == "identities" and request.method == "POST":
            if parts[2] == ":issueAccessToken":
                return self._issue(parts[1], body)
            if parts[2] == ":revokeAccessTokens":
                return self._known(parts[1]) or Reply(204)
        if len(parts) == 2 and parts[0] == "identities" and request.method == "DELETE":
            if missing := self._known(parts[1]):
                return missing
            with self._lock:
                self.identities.pop(parts[1], None)
                self.deleted_identities.append(parts[1])
            return Reply(204)
        return json_reply(404, _acs_error("NotFound", "Resource not found."))

    def _create(self, body: dict) -> Reply:
        scopes = body.get("createTokenWithScopes") or []
        invalid = self._invalid_token_request(scopes, body.get("expiresInMinutes"), allow_empty=True)
        if invalid:
            return invalid
        identity = f"8:acs:{self.resource_id}_{uuid.uuid4()}"
        with self._lock:
            self.identities[identity] = []
            self.identities_created += 1
        answer: dict[str, Any] = {"identity": {"id": identity}}
        if scopes:
            answer["accessToken"] = self._new_token(identity, scopes, body.get("expiresInMinutes"))
        return json_reply(201, answer)

    def _issue(self, identity: str, body: dict) -> Reply:
        if missing := self._known(identity):
            return missing
        invalid = self._invalid_token_request(body.get("scopes"), body.get("expiresInMinutes"))
        return invalid or json_reply(200, self._new_token(identity, body["scopes"], body.get("expiresInMinutes")))

    def _known(self, identity: str) -> Reply | None:
        with self._lock:
            if identity in self.identities:
                return None
        return json_reply(404, _acs_error("IdentityNotFound", f"Identity with id '{identity}' was not found."))

    @staticmethod
    def _invalid_token_request(scopes: Any, minutes: Any, allow_empty: bool = False) -> Reply | None:
        if not isinstance(scopes, list) or (not scopes and not allow_empty) or not set(scopes) <= VALID_SCOPES:
            return json_reply(400, _acs_error("ValidationError", f"Invalid scopes: {scopes!r}"))
        if minutes is not None and not (isinstance(minutes, int) and 60 <= minutes <= 1440):
            return json_reply(400, _acs_error("ValidationError", "expiresInMinutes must be within [60, 1440]."))
        return None

    def _new_token(self, identity: str, scopes: list[str], minutes: int | None) -> dict:
        now = datetime.now(UTC)
        expires = now + timedelta(minutes=minutes or 1440)
        claims = {
            "skypeid": identity.removeprefix("8:"),
            "scp": 1792,
            "csi": int(now.timestamp()),
            "exp": int(expires.timestamp()),
            "acsScope": ",".join(scopes),
            "resourceId": self.resource_id,
            "iat": int(now.timestamp()),
            "jti": str(uuid.uuid4()),
        }
        token = ".".join(
            _b64url(json.dumps(part).encode()) for part in ({"alg": "RS256", "kid": "double", "typ": "JWT"}, claims)
        )
        token += "." + _b64url(os.urandom(32))
        with self._lock:
            self.identities.setdefault(identity, []).append(token)
            self.tokens_issued += 1
        # The service's own format: seven fractional digits and an explicit offset.
        expires_on = expires.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0+00:00"
        return {"token": token, "expiresOn": expires_on}

    def _signature_problem(self, request: RecordedRequest) -> str | None:
        headers = request.headers
        date, content_hash = headers.get("x-ms-date"), headers.get("x-ms-content-sha256")
        auth = headers.get("authorization", "")
        prefix = "HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature="
        if not (date and content_hash and auth.startswith(prefix)):
            return "Missing or malformed HMAC authentication headers."
        if content_hash != base64.b64encode(hashlib.sha256(request.body).digest()).decode():
            return "x-ms-content-sha256 does not match the request body."
        try:
            skew = abs(datetime.now(UTC) - parsedate_to_datetime(date))
        except (TypeError, ValueError):
            return "x-ms-date is not an RFC 1123 date."
        if skew > MAX_CLOCK_SKEW:
            return "x-ms-date is too far from the current time."
        signed = f"{request.method}\n{unquote(request.target)}\n{date};{headers.get('host', '')};{content_hash}"
        expected = base64.b64encode(
            hmac.new(base64.b64decode(self.access_key), signed.encode(), hashlib.sha256).digest()
        ).decode()
        if not hmac.compare_digest(expected, auth[len(prefix) :]):
            return "The HMAC signature does not match."
        return None


def _acs_error(code: str, message: str) -> dict:
    return {"error": {"code": code, "message": message}}


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
