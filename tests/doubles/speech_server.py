"""Azure Speech STS token double.

  POST /sts/v1.0/issueToken   header Ocp-Apim-Subscription-Key must equal
                              ``subscription_key``; answers the token as
                              text/plain (a JWT-looking string, new each call,
                              valid 10 minutes); wrong or missing key -> 401.

Point clients at ``double.url`` in place of
``https://<region>.api.cognitive.microsoft.com`` (``double.token_url`` is the
full issueToken URL). ``delay_seconds`` makes concurrent refreshes overlap;
``max_in_flight`` then shows whether callers were single-flighted.
"""

from __future__ import annotations

import base64
import json
import os
import time
import uuid
from typing import Any

from .base import RecordedRequest, Reply, ServiceDouble, json_reply

TOKEN_PATH = "/sts/v1.0/issueToken"


class SpeechTokenDouble(ServiceDouble):
    def __init__(self, subscription_key: str = "speech-test-key", region: str = "westeurope") -> None:
        super().__init__()
        self.subscription_key = subscription_key
        self.region = region
        self._reset_state()

    def _reset_state(self) -> None:
        self.issued_tokens: list[str] = []
        self.rejected_requests = 0
        self.in_flight = 0
        self.max_in_flight = 0  # highest number of token requests served at once

    def reset(self) -> None:
        super().reset()
        with self._lock:
            self._reset_state()

    @property
    def tokens_issued(self) -> int:
        return len(self.issued_tokens)

    @property
    def token_url(self) -> str:
        return self.url + TOKEN_PATH

    def error_body(self, status: int, path: str) -> Any:
        return {"error": {"code": str(status), "message": f"Injected failure {status}"}}

    def _dispatch(self, request: RecordedRequest) -> Reply:
        # Count overlap around the whole answer, delay included.
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            return super()._dispatch(request)
        finally:
            with self._lock:
                self.in_flight -= 1

    def handle(self, request: RecordedRequest) -> Reply:
        if request.path != TOKEN_PATH:
            return json_reply(404, {"error": {"code": "404", "message": "Resource not found"}})
        if request.method != "POST":
            return json_reply(405, {"error": {"code": "405", "message": "Method not allowed"}})
        if request.headers.get("ocp-apim-subscription-key") != self.subscription_key:
            with self._lock:
                self.rejected_requests += 1
            return json_reply(
                401,
                {
                    "error": {
                        "code": "401",
                        "message": "Access denied due to invalid subscription key or wrong API endpoint. "
                        "Make sure to provide a valid key for an active subscription and use a "
                        "correct regional API endpoint for your resource.",
                    }
                },
            )
        token = self._mint()
        with self._lock:
            self.issued_tokens.append(token)
        return Reply(200, token, {"content-type": "text/plain; charset=utf-8"})

    def _mint(self) -> str:
        now = int(time.time())
        claims = {
            "region": self.region,
            "subscription-id": uuid.uuid4().hex,
            "product-id": "SpeechServices.S0",
            "scope": "speechservices",
            "aud": f"urn:ms.speechservices.{self.region}",
            "iss": "urn:ms.cognitiveservices",
            "exp": now + 600,
            "iat": now,
            "jti": uuid.uuid4().hex,
        }
        header = {"alg": "HS256", "typ": "JWT"}
        return ".".join(_b64url(json.dumps(p).encode()) for p in (header, claims)) + "." + _b64url(os.urandom(32))


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
