"""Fixtures for the AI endpoints: an OpenAI-compatible double and an AIClient on it."""

from __future__ import annotations

import pytest

from tests.doubles.openai_server import OpenAIDouble

API_KEY = "sk-test-ai"
MODEL = "gpt-test"
SCORING_MODEL = "gpt-test-scoring"


@pytest.fixture(scope="session")
def openai_double():
    with OpenAIDouble(api_key=API_KEY) as double:
        yield double


@pytest.fixture
def model_double(openai_double):
    """The shared double, cleared before each test."""
    openai_double.reset()
    openai_double.default_responder = None
    yield openai_double
    openai_double.reset()


def ai_settings(double, **extra):
    from shared.platform.config import Settings

    values = {
        "APP_ENV": "test",
        "AI_BASE_URL": double.url + "/v1",
        "AI_API_KEY": API_KEY,
        "AI_MODEL": MODEL,
        "AI_SCORING_MODEL": SCORING_MODEL,
        "AI_TIMEOUT_SECONDS": 2.0,
        **extra,
    }
    return Settings(**values)


@pytest.fixture
async def ai(model_double):
    from shared.ai.client import ai_from_settings

    client = ai_from_settings(ai_settings(model_double))
    yield client
    await client.close()


@pytest.fixture
async def ai_services(services, model_double, ai):
    """The app's services with the AI client pointed at the double."""
    services.__dict__["ai"] = ai
    yield services
    services.__dict__.pop("ai", None)


def route_replies(double, *, text=None, tools=None):
    """Answer concurrent calls by kind: `tools[name]` (a ScriptedReply, or a callable
    taking the request body) for forced tool calls, `text` for the rest."""
    from tests.doubles.openai_server import ScriptedReply

    def responder(body):
        if body.get("tools"):
            name = body["tool_choice"]["function"]["name"]
            reply = (tools or {}).get(name)
        else:
            reply = text
        if callable(reply):
            reply = reply(body)
        if isinstance(reply, str):
            reply = ScriptedReply(content=reply)
        return reply  # None: the double answers 500

    double.default_responder = responder


CV_BUCKET = "cvs"


@pytest.fixture(scope="session")
def supabase_double():
    from tests.doubles.supabase_server import SupabaseDouble

    with SupabaseDouble(service_role_key="service-role-test") as double:
        yield double


@pytest.fixture
async def cv_services(ai_services, supabase_double):
    """The app's services with CVs in the Supabase double's bucket."""
    from shared.adapters.cv_storage import SupabaseCvStorage

    supabase_double.reset()
    storage = SupabaseCvStorage(
        url=supabase_double.url, service_role_key=supabase_double.service_role_key, bucket=CV_BUCKET
    )
    ai_services.__dict__["cv_storage"] = storage
    yield ai_services
    ai_services.__dict__.pop("cv_storage", None)
    await storage.close()
