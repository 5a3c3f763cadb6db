"""Azure Speech authorization tokens for the browser Speech SDK, cached per instance.

Two ways to get one:
- with the resource key (AZURE_SPEECH_KEY): the STS issueToken endpoint's
  token, valid for 10 minutes;
- without a key, with Microsoft Entra ID (AZURE_SPEECH_ENDPOINT, the resource's
  custom subdomain, and AZURE_SPEECH_RESOURCE_ID): an Entra access token for
  https://cognitiveservices.azure.com/.default from the app's managed identity,
  handed to the SDK as "aad#<resource id>#<Entra token>", the form Microsoft
  documents for SpeechConfig.fromAuthorizationToken(token, region) ("Microsoft
  Entra authentication with the Speech SDK", learn.microsoft.com/azure/ai-services/
  speech-service/how-to-configure-azure-ad-auth). No STS call: the SDK presents
  that string itself. Entra authentication needs the custom subdomain.

Either way the answer looks the same (token, region, seconds left, at most 600)
and this instance reuses a token until a minute before that, then refreshes.
Concurrent requests during a refresh share one upstream call (single flight),
and a failed refresh is not cached: the next request tries again.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from shared.platform.errors import NotConfigured, UpstreamError

if TYPE_CHECKING:
    import httpx
    from azure.core.credentials_async import AsyncTokenCredential

    from shared.platform.config import Settings

TOKEN_LIFETIME_SECONDS = 600  # an STS token's; also the most `expiresIn` ever says
MIN_LEFT_SECONDS = 60  # a token with no more than this left is refreshed, not handed out
ENTRA_SCOPE = "https://cognitiveservices.azure.com/.default"
# Entra authentication works only on a resource's custom subdomain, never on a regional endpoint.
CUSTOM_SUBDOMAIN = re.compile(r"^https://[a-z0-9][a-z0-9-]{0,62}\.cognitiveservices\.azure\.com/?$")
RESOURCE_ID = re.compile(
    r"^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.CognitiveServices/accounts/[^/]+$", re.IGNORECASE
)


@dataclass(frozen=True)
class SpeechToken:
    token: str
    expires_in: int  # seconds of validity left


@dataclass(frozen=True)
class _Issued:
    token: str
    expires_at: float  # monotonic seconds; the clock is read before the request: errs on the short side


def issue_token_url(region: str | None, endpoint: str | None) -> str:
    if endpoint:
        return endpoint
    return f"https://{region}.api.cognitive.microsoft.com/sts/v1.0/issueToken"


class _CachedTokens:
    """The cache and the single flight; subclasses say how a token is issued."""

    def __init__(self, region: str, *, timeout: float, clock: Callable[[], float]):
        self.region = region
        self._timeout = timeout
        self._clock = clock
        self._cached: _Issued | None = None
        self._refreshing: asyncio.Future[_Issued] | None = None

    async def get(self) -> SpeechToken:
        issued = self._cached
        if issued is None or issued.expires_at - self._clock() <= MIN_LEFT_SECONDS:
            if self._refreshing is None:
                self._refreshing = asyncio.ensure_future(self._refresh())
                self._refreshing.add_done_callback(self._refresh_done)
            # shield: one caller giving up must not cancel the refresh the others wait for
            issued = await asyncio.shield(self._refreshing)
        return SpeechToken(issued.token, max(0, int(issued.expires_at - self._clock())))

    def _refresh_done(self, future: asyncio.Future[_Issued]) -> None:
        self._refreshing = None
        if not future.cancelled():
            future.exception()  # retrieved here, so an unawaited failure is not reported twice

    async def _refresh(self) -> _Issued:
        started = self._clock()
        token, lifetime = await self._issue()
        self._cached = _Issued(token, started + min(lifetime, TOKEN_LIFETIME_SECONDS))
        return self._cached

    async def _issue(self) -> tuple[str, float]:
        """A new token and its lifetime in seconds."""
        raise NotImplementedError


class SpeechTokens(_CachedTokens):
    """With the resource key, through the STS issueToken endpoint."""

    def __init__(
        self,
        key: str,
        region: str,
        *,
        token_url: str | None = None,
        timeout: float = 10,
        clock: Callable[[], float] = time.monotonic,
    ):
        super().__init__(region, timeout=timeout, clock=clock)
        self.token_url = issue_token_url(region, token_url)
        self._key = key
        self._http: httpx.AsyncClient | None = None

    async def _issue(self) -> tuple[str, float]:
        import httpx

        if self._http is None:
            self._http = httpx.AsyncClient(timeout=self._timeout)
        try:
            response = await self._http.post(
                self.token_url, headers={"Ocp-Apim-Subscription-Key": self._key}, content=b""
            )
        except httpx.HTTPError:
            raise UpstreamError("The Speech token service could not be reached") from None
        token = response.text.strip()
        if response.status_code != 200 or not token:
            raise UpstreamError(f"The Speech token service failed (status {response.status_code})")
        return token, TOKEN_LIFETIME_SECONDS

    async def close(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None


class EntraSpeechTokens(_CachedTokens):
    """Without a key: the managed identity's Entra token, in the Speech SDK's "aad#" form.

    The credential is given (DefaultAzureCredential in production, a stand-in in tests);
    it caches and renews its own token, so asking it again is cheap."""

    def __init__(
        self,
        credential: AsyncTokenCredential,  # azure.identity.aio's, or a test's stand-in
        resource_id: str,
        region: str,
        *,
        timeout: float = 10,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ):
        super().__init__(region, timeout=timeout, clock=clock)
        self.resource_id = resource_id
        self._credential = credential
        self._wall_clock = wall_clock

    async def _issue(self) -> tuple[str, float]:
        try:
            access = await asyncio.wait_for(self._credential.get_token(ENTRA_SCOPE), self._timeout)
        except Exception:  # no identity, no role, Entra unreachable or slow: the SDKs raise many kinds
            raise UpstreamError("Microsoft Entra ID did not issue a token for Speech") from None
        # The SDK's documented form: "aad#" + resource id + "#" + Entra access token.
        return f"aad#{self.resource_id}#{access.token}", access.expires_on - self._wall_clock()

    async def close(self) -> None:
        await self._credential.close()


def build_speech_tokens(settings: Settings) -> SpeechTokens | EntraSpeechTokens:
    """The key when AZURE_SPEECH_KEY is set; else Entra ID with AZURE_SPEECH_ENDPOINT and
    AZURE_SPEECH_RESOURCE_ID (and, in production, AZURE_SPEECH_CLIENT_ID: see below)."""
    endpoint, resource_id = settings.AZURE_SPEECH_ENDPOINT, settings.AZURE_SPEECH_RESOURCE_ID
    if not (settings.AZURE_SPEECH_KEY or (endpoint and resource_id)):
        raise NotConfigured(
            "Speech is not configured: set AZURE_SPEECH_KEY and AZURE_SPEECH_REGION, or (Microsoft Entra ID) "
            "AZURE_SPEECH_ENDPOINT, AZURE_SPEECH_RESOURCE_ID and AZURE_SPEECH_REGION"
        )
    if not settings.AZURE_SPEECH_REGION:  # the browser SDK needs it either way
        raise NotConfigured("Speech is not configured: set AZURE_SPEECH_REGION")
    if settings.AZURE_SPEECH_KEY:
        return SpeechTokens(
            settings.AZURE_SPEECH_KEY,
            settings.AZURE_SPEECH_REGION,
            token_url=settings.AZURE_SPEECH_TOKEN_ENDPOINT or None,
        )
    assert endpoint and resource_id  # checked above
    if not CUSTOM_SUBDOMAIN.match(endpoint):
        raise NotConfigured(
            "AZURE_SPEECH_ENDPOINT must be the Speech resource's custom subdomain, "
            "https://<name>.cognitiveservices.azure.com (Entra ID does not work on regional endpoints)"
        )
    if not RESOURCE_ID.match(resource_id):
        raise NotConfigured(
            "AZURE_SPEECH_RESOURCE_ID must be the Speech resource's id, "
            "/subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.CognitiveServices/accounts/<name>"
        )
    # The browser receives the Entra token itself, and its audience is every Azure AI
    # resource: it must come from an identity whose only role is on this Speech resource
    # (never the app's own, which may call Azure OpenAI). Required in production.
    client_id = settings.AZURE_SPEECH_CLIENT_ID
    if settings.is_production and not client_id:
        raise NotConfigured(
            "Speech with Entra ID needs AZURE_SPEECH_CLIENT_ID: a user-assigned identity whose only role is "
            "Cognitive Services Speech User on the Speech resource (its token is handed to browsers)"
        )
    from azure.identity.aio import DefaultAzureCredential

    options: dict[str, Any] = {"managed_identity_client_id": client_id} if client_id else {}
    return EntraSpeechTokens(DefaultAzureCredential(**options), resource_id, settings.AZURE_SPEECH_REGION)
