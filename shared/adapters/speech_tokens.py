"""Azure Speech authorization tokens, cached per instance.

A token from the STS issueToken endpoint is valid for 10 minutes; this
instance reuses it for 9, then refreshes. Concurrent requests during a
refresh share one upstream call (single flight), and a failed refresh is not
cached: the next request tries again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from shared.platform.errors import NotConfigured, UpstreamError

if TYPE_CHECKING:
    import httpx

    from shared.platform.config import Settings

TOKEN_LIFETIME_SECONDS = 600
REUSE_SECONDS = 540


@dataclass(frozen=True)
class SpeechToken:
    token: str
    expires_in: int  # seconds of validity left


@dataclass(frozen=True)
class _Issued:
    token: str
    issued_at: float  # monotonic seconds, taken before the request: errs on the short side


def issue_token_url(region: str | None, endpoint: str | None) -> str:
    if endpoint:
        return endpoint
    return f"https://{region}.api.cognitive.microsoft.com/sts/v1.0/issueToken"


class SpeechTokens:
    def __init__(
        self,
        key: str,
        region: str,
        *,
        token_url: str | None = None,
        timeout: float = 10,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.region = region
        self.token_url = issue_token_url(region, token_url)
        self._key = key
        self._timeout = timeout
        self._clock = clock
        self._cached: _Issued | None = None
        self._refreshing: asyncio.Future[_Issued] | None = None
        self._http: httpx.AsyncClient | None = None

    async def get(self) -> SpeechToken:
        issued = self._cached
        if issued is None or self._clock() - issued.issued_at >= REUSE_SECONDS:
            if self._refreshing is None:
                self._refreshing = asyncio.ensure_future(self._refresh())
                self._refreshing.add_done_callback(self._refresh_done)
            # shield: one caller giving up must not cancel the refresh the others wait for
            issued = await asyncio.shield(self._refreshing)
        age = self._clock() - issued.issued_at
        return SpeechToken(issued.token, max(0, int(TOKEN_LIFETIME_SECONDS - age)))

    def _refresh_done(self, future: asyncio.Future[_Issued]) -> None:
        self._refreshing = None
        if not future.cancelled():
            future.exception()  # retrieved here, so an unawaited failure is not reported twice

    async def _refresh(self) -> _Issued:
        import httpx

        if self._http is None:
            self._http = httpx.AsyncClient(timeout=self._timeout)
        issued_at = self._clock()
        try:
            response = await self._http.post(
                self.token_url, headers={"Ocp-Apim-Subscription-Key": self._key}, content=b""
            )
        except httpx.HTTPError:
            raise UpstreamError("The Speech token service could not be reached") from None
        token = response.text.strip()
        if response.status_code != 200 or not token:
            raise UpstreamError(f"The Speech token service failed (status {response.status_code})")
        self._cached = _Issued(token, issued_at)
        return self._cached

    async def close(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None


def build_speech_tokens(settings: Settings) -> SpeechTokens:
    missing = [name for name in ("AZURE_SPEECH_KEY", "AZURE_SPEECH_REGION") if not getattr(settings, name)]
    if missing:
        raise NotConfigured(f"Speech is not configured: set {' and '.join(missing)}")
    assert settings.AZURE_SPEECH_KEY and settings.AZURE_SPEECH_REGION  # checked just above
    return SpeechTokens(
        settings.AZURE_SPEECH_KEY, settings.AZURE_SPEECH_REGION, token_url=settings.AZURE_SPEECH_TOKEN_ENDPOINT or None
    )
