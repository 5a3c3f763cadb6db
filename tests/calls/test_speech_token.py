"""GET/POST /api/azure/speech-token: caching and single-flight refresh against the
Speech STS double."""

import asyncio

import pytest

from shared.adapters.speech_tokens import SpeechTokens, build_speech_tokens
from shared.platform.config import Settings
from shared.platform.errors import NotConfigured, UpstreamError
from tests.calls.seed import member
from tests.support import auth_headers, call_function


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
async def clocked(speech_double):
    speech_double.reset()
    clock = Clock()
    tokens = SpeechTokens(
        speech_double.subscription_key, speech_double.region, token_url=speech_double.token_url, clock=clock
    )
    yield tokens, clock
    await tokens.close()


async def test_token_is_reused_for_nine_minutes_then_refreshed(clocked, speech_double):
    tokens, clock = clocked
    first = await tokens.get()
    assert first.expires_in == 600 and first.token == speech_double.issued_tokens[0]
    clock.now += 300
    again = await tokens.get()
    assert again.token == first.token and again.expires_in == 300
    clock.now += 239  # 8 min 59 s after issue
    assert (await tokens.get()).token == first.token and speech_double.tokens_issued == 1
    clock.now += 1  # 9 minutes
    fresh = await tokens.get()
    assert fresh.token != first.token and fresh.expires_in == 600 and speech_double.tokens_issued == 2
    request = speech_double.requests[0]
    assert request.method == "POST" and request.headers["ocp-apim-subscription-key"] == speech_double.subscription_key


async def test_concurrent_requests_during_a_refresh_make_one_upstream_call(speech, speech_double):
    speech_double.delay_seconds = 0.3
    results = await asyncio.gather(*(speech.get() for _ in range(25)))
    assert speech_double.tokens_issued == 1 and speech_double.max_in_flight == 1
    assert len({r.token for r in results}) == 1


async def test_a_failure_is_502_for_every_waiter_and_is_not_cached(speech, speech_double):
    speech_double.fail_next(500, delay=0.2)
    results = await asyncio.gather(*(speech.get() for _ in range(5)), return_exceptions=True)
    assert all(isinstance(r, UpstreamError) and r.status == 502 for r in results)
    assert len(speech_double.requests) == 1
    assert (await speech.get()).token == speech_double.issued_tokens[0]


async def test_a_rejected_key_or_unreachable_service_is_502(speech_double):
    wrong = SpeechTokens("wrong-key", "westeurope", token_url=speech_double.token_url)
    unreachable = SpeechTokens("k", "westeurope", token_url="http://127.0.0.1:9/sts/v1.0/issueToken")
    for tokens in (wrong, unreachable):
        with pytest.raises(UpstreamError):
            await tokens.get()
        await tokens.close()


async def test_a_caller_giving_up_does_not_cancel_the_shared_refresh(speech, speech_double):
    speech_double.delay_seconds = 0.2
    impatient = asyncio.ensure_future(speech.get())
    patient = asyncio.ensure_future(speech.get())
    await asyncio.sleep(0.05)
    impatient.cancel()
    assert (await patient).token and speech_double.tokens_issued == 1


def test_settings_choose_the_regional_or_the_configured_endpoint():
    regional = build_speech_tokens(Settings(APP_ENV="test", AZURE_SPEECH_KEY="k", AZURE_SPEECH_REGION="australiaeast"))
    assert regional.token_url == "https://australiaeast.api.cognitive.microsoft.com/sts/v1.0/issueToken"
    endpoint = "https://spch.cognitiveservices.azure.com/sts/v1.0/issueToken"
    custom = build_speech_tokens(
        Settings(APP_ENV="test", AZURE_SPEECH_KEY="k", AZURE_SPEECH_REGION="x", AZURE_SPEECH_TOKEN_ENDPOINT=endpoint)
    )
    assert custom.token_url.startswith("https://spch.")
    with pytest.raises(NotConfigured, match="AZURE_SPEECH_KEY"):
        build_speech_tokens(Settings(APP_ENV="test", AZURE_SPEECH_REGION="x"))


# --- through the function ------------------------------------------------------------------


@pytest.fixture
def speech_services(services, speech):
    services.__dict__["speech_tokens"] = speech
    yield services
    services.__dict__.pop("speech_tokens", None)


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_function_answers_token_region_and_remaining_seconds(
    db, speech_services, speech_double, method, unique_ip
):
    user = await member(db)
    result = await call_function(
        "speech_token", method, None, auth_headers(user), client_ip=unique_ip, path="/api/azure/speech-token"
    )
    assert result.status == 200, result
    body = result.json()
    assert set(body) == {"token", "region", "expiresIn"}
    assert body["token"] == speech_double.issued_tokens[0] and body["region"] == "westeurope"
    assert 590 <= body["expiresIn"] <= 600


async def test_function_requires_a_user_and_answers_503_when_not_configured(db, services, unique_ip):
    services.__dict__.pop("speech_tokens", None)
    assert (await call_function("speech_token", "GET", path="/api/azure/speech-token")).status == 401
    result = await call_function(
        "speech_token",
        "GET",
        None,
        auth_headers(await member(db)),
        client_ip=unique_ip,
        path="/api/azure/speech-token",
    )
    assert result.status == 503 and "AZURE_SPEECH_KEY" in result.json()["error"]


async def test_function_upstream_failure_is_502(db, speech_services, speech_double, unique_ip):
    speech_double.fail_next(401)
    result = await call_function(
        "speech_token",
        "POST",
        None,
        auth_headers(await member(db)),
        client_ip=unique_ip,
        path="/api/azure/speech-token",
    )
    assert result.status == 502 and result.json()["error"]


async def test_a_user_with_no_reason_gets_403_and_no_token(db, speech_services, speech_double, unique_ip):
    from tests.support import create_user

    result = await call_function(
        "speech_token",
        "GET",
        None,
        auth_headers(await create_user(db)),
        client_ip=unique_ip,
        path="/api/azure/speech-token",
    )
    assert result.status == 403 and "organisation's members" in result.json()["error"]
    assert speech_double.issued_tokens == []


# --- Microsoft Entra ID (no key): a stand-in credential, no network ------------------------

RESOURCE_ID = "/subscriptions/0000/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/talenti-speech"
ENDPOINT = "https://talenti-speech.cognitiveservices.azure.com"


class FakeCredential:
    """azure.identity's async get_token, recorded: each call a new token valid `lifetime` s."""

    def __init__(self, wall: Clock, lifetime: float = 3600):
        self.wall = wall
        self.lifetime = lifetime
        self.scopes: list[tuple[str, ...]] = []
        self.fail: Exception | None = None
        self.delay = 0.0
        self.closed = False

    async def get_token(self, *scopes: str):
        from types import SimpleNamespace

        self.scopes.append(scopes)
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.fail is not None:
            raise self.fail
        return SimpleNamespace(token=f"entra-{len(self.scopes)}", expires_on=int(self.wall() + self.lifetime))

    async def close(self) -> None:
        self.closed = True


@pytest.fixture
def entra():
    from shared.adapters.speech_tokens import EntraSpeechTokens

    clock, wall = Clock(), Clock()
    wall.now = 1_750_000_000.0
    credential = FakeCredential(wall)
    tokens = EntraSpeechTokens(credential, RESOURCE_ID, "australiaeast", clock=clock, wall_clock=wall, timeout=0.5)
    return tokens, credential, clock, wall


async def test_entra_token_is_the_documented_aad_form_for_the_cognitive_services_scope(entra):
    tokens, credential, clock, wall = entra
    first = await tokens.get()
    assert first.token == f"aad#{RESOURCE_ID}#entra-1"
    assert credential.scopes == [("https://cognitiveservices.azure.com/.default",)]
    # An hour of Entra validity is still announced as at most 10 minutes: the browser
    # refreshes on the same schedule as with the key.
    assert first.expires_in == 600 and tokens.region == "australiaeast"
    clock.now += 539
    wall.now += 539
    assert (await tokens.get()).token == first.token and len(credential.scopes) == 1
    clock.now += 1
    wall.now += 1
    assert (await tokens.get()).token == f"aad#{RESOURCE_ID}#entra-2"


async def test_entra_token_near_its_end_says_how_little_is_left(entra):
    tokens, credential, clock, wall = entra
    credential.lifetime = 200
    assert (await tokens.get()).expires_in == 200
    clock.now += 139
    wall.now += 139
    assert (await tokens.get()).token.endswith("#entra-1")
    clock.now += 1  # 60 s left: not handed out, renewed
    wall.now += 1
    assert (await tokens.get()).token.endswith("#entra-2")


async def test_entra_concurrent_requests_share_one_credential_call(entra):
    tokens, credential, _, _ = entra
    credential.delay = 0.1
    results = await asyncio.gather(*(tokens.get() for _ in range(20)))
    assert len(credential.scopes) == 1 and len({r.token for r in results}) == 1


async def test_entra_failure_or_hang_is_502_without_details_and_not_cached(entra):
    tokens, credential, _, _ = entra
    credential.fail = RuntimeError("ManagedIdentityCredential: IMDS at 169.254.169.254 said no")
    with pytest.raises(UpstreamError) as failure:
        await tokens.get()
    assert failure.value.status == 502 and "169.254" not in failure.value.message
    credential.fail, credential.delay = None, 2.0  # longer than the 0.5 s timeout
    with pytest.raises(UpstreamError):
        await tokens.get()
    credential.delay = 0.0
    assert (await tokens.get()).token.startswith("aad#")
    await tokens.close()
    assert credential.closed


def test_settings_choose_entra_without_a_key_and_check_what_it_needs():
    from shared.adapters.speech_tokens import EntraSpeechTokens

    entra_settings = dict(
        APP_ENV="test",
        AZURE_SPEECH_REGION="australiaeast",
        AZURE_SPEECH_ENDPOINT=ENDPOINT,
        AZURE_SPEECH_RESOURCE_ID=RESOURCE_ID,
    )
    chosen = build_speech_tokens(Settings(**entra_settings))
    assert isinstance(chosen, EntraSpeechTokens) and chosen.resource_id == RESOURCE_ID
    # The key wins when both are set (the existing deployments keep working).
    assert isinstance(build_speech_tokens(Settings(**entra_settings, AZURE_SPEECH_KEY="k")), SpeechTokens)
    regional = {**entra_settings, "AZURE_SPEECH_ENDPOINT": "https://australiaeast.api.cognitive.microsoft.com/"}
    with pytest.raises(NotConfigured, match="custom subdomain"):
        build_speech_tokens(Settings(**regional))
    with pytest.raises(NotConfigured, match="AZURE_SPEECH_RESOURCE_ID must be"):
        build_speech_tokens(Settings(**{**entra_settings, "AZURE_SPEECH_RESOURCE_ID": "talenti-speech"}))
    with pytest.raises(NotConfigured, match="AZURE_SPEECH_REGION"):
        build_speech_tokens(Settings(**{**entra_settings, "AZURE_SPEECH_REGION": ""}))
    with pytest.raises(NotConfigured, match="AZURE_SPEECH_ENDPOINT, AZURE_SPEECH_RESOURCE_ID"):
        build_speech_tokens(Settings(APP_ENV="test", AZURE_SPEECH_REGION="x", AZURE_SPEECH_ENDPOINT=ENDPOINT))


def test_production_entra_needs_a_dedicated_identity():
    """Browsers receive the Entra token itself: never the app's own identity's."""
    from shared.adapters.speech_tokens import EntraSpeechTokens

    production = dict(
        APP_ENV="production",
        DATABASE_URL="postgresql://x@db/x",
        SUPABASE_URL="https://x.supabase.co",
        SERVICE_API_KEY="a-real-service-key",
        SITE_URL="https://app.example",
        AZURE_SPEECH_REGION="australiaeast",
        AZURE_SPEECH_ENDPOINT=ENDPOINT,
        AZURE_SPEECH_RESOURCE_ID=RESOURCE_ID,
    )
    with pytest.raises(NotConfigured, match="AZURE_SPEECH_CLIENT_ID"):
        build_speech_tokens(Settings(**production))
    chosen = build_speech_tokens(Settings(**production, AZURE_SPEECH_CLIENT_ID="00000000-0000-0000-0000-000000000001"))
    assert isinstance(chosen, EntraSpeechTokens)


async def test_function_answers_the_same_shape_with_entra(db, services, entra, unique_ip):
    tokens = entra[0]
    services.__dict__["speech_tokens"] = tokens
    try:
        result = await call_function(
            "speech_token",
            "GET",
            None,
            auth_headers(await member(db)),
            client_ip=unique_ip,
            path="/api/azure/speech-token",
        )
    finally:
        services.__dict__.pop("speech_tokens", None)
    assert result.status == 200, result
    assert result.json() == {"token": f"aad#{RESOURCE_ID}#entra-1", "region": "australiaeast", "expiresIn": 600}
