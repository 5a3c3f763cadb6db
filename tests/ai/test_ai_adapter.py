"""The AI adapter against the OpenAI-compatible double: what is sent, and how
every upstream failure maps onto the contract."""

from __future__ import annotations

import json

import pytest
from pydantic import BaseModel, Field

from shared.ai.client import ai_from_settings, retry_after_seconds
from shared.platform.errors import NotConfigured, PaymentRequired, RateLimited, UpstreamError
from tests.ai.fixtures import MODEL, SCORING_MODEL, ai_settings
from tests.doubles.openai_server import ScriptedReply, ToolCall


class Verdict(BaseModel):
    label: str = Field(min_length=1)
    score: int = Field(ge=0, le=10)


MESSAGES = [{"role": "system", "content": "You are a careful grader."}, {"role": "user", "content": "Grade this."}]


async def ask(ai, **options):
    return await ai.structured(
        purpose="test",
        prompt_version="t-1",
        messages=MESSAGES,
        schema=Verdict,
        tool_name="give_verdict",
        tool_description="Record the verdict.",
        **options,
    )


async def test_structured_sends_forced_tool_with_schema_and_parses_answer(ai, model_double):
    model_double.push_tool_call("give_verdict", {"label": "good", "score": 7})
    verdict = await ask(ai)
    assert verdict == Verdict(label="good", score=7)
    sent = model_double.chat_requests[-1]
    assert sent["model"] == MODEL
    assert sent["messages"] == MESSAGES
    assert sent["tool_choice"] == {"type": "function", "function": {"name": "give_verdict"}}
    [tool] = sent["tools"]
    assert tool["function"]["name"] == "give_verdict"
    assert tool["function"]["description"] == "Record the verdict."
    assert tool["function"]["strict"] is True
    parameters = tool["function"]["parameters"]
    assert parameters["required"] == ["label", "score"] and parameters["additionalProperties"] is False
    # Strict mode on Azure refuses range keywords: the range travels as text.
    assert parameters["properties"]["score"] == {"type": "integer", "description": "From 0 to 10."}
    assert model_double.requests[-1].headers["authorization"] == "Bearer sk-test-ai"


async def test_model_override_and_names(ai, model_double):
    assert ai.model_name == MODEL and ai.scoring_model_name == SCORING_MODEL
    model_double.push_tool_call("give_verdict", {"label": "x", "score": 1})
    await ask(ai, model=ai.scoring_model_name)
    assert model_double.chat_requests[-1]["model"] == SCORING_MODEL


async def test_malformed_arguments_are_retried_once_with_the_error(ai, model_double):
    model_double.push_tool_call("give_verdict", '{"label": "good", "score": ')
    model_double.push_tool_call("give_verdict", {"label": "good", "score": 5})
    assert (await ask(ai)).score == 5
    first, second = model_double.chat_requests
    assert len(second["messages"]) == len(MESSAGES) + 2
    assistant, tool_reply = second["messages"][-2:]
    assert assistant["role"] == "assistant" and assistant["tool_calls"][0]["function"]["name"] == "give_verdict"
    assert tool_reply["role"] == "tool" and tool_reply["tool_call_id"] == assistant["tool_calls"][0]["id"]
    assert "not valid JSON" in tool_reply["content"]


async def test_schema_violation_twice_is_502(ai, model_double):
    model_double.push_tool_call("give_verdict", {"label": "good", "score": 11})
    model_double.push_tool_call("give_verdict", {"label": "", "score": 3})
    with pytest.raises(UpstreamError, match="invalid answer") as caught:
        await ask(ai)
    assert caught.value.status == 502
    assert len(model_double.chat_requests) == 2
    correction = model_double.chat_requests[1]["messages"][-1]["content"]
    assert "score" in correction and "less than or equal to 10" in correction


async def test_semantic_check_failure_is_sent_back(ai, model_double):
    def only_known(verdict: Verdict) -> None:
        if verdict.label not in {"good", "bad"}:
            raise ValueError(f"unknown label {verdict.label!r}; use good or bad")

    model_double.push_tool_call("give_verdict", {"label": "meh", "score": 3})
    model_double.push_tool_call("give_verdict", {"label": "bad", "score": 3})
    assert (await ask(ai, check=only_known)).label == "bad"
    assert "unknown label 'meh'" in model_double.chat_requests[1]["messages"][-1]["content"]


async def test_text_instead_of_tool_call_is_corrected_as_user_turn(ai, model_double):
    model_double.push_text("I think it is good.")
    model_double.push_tool_call("give_verdict", {"label": "good", "score": 6})
    assert (await ask(ai)).score == 6
    last = model_double.chat_requests[1]["messages"][-2:]
    assert last[0] == {"role": "assistant", "content": "I think it is good."}
    assert last[1]["role"] == "user" and "give_verdict" in last[1]["content"]


async def test_402_is_payment_required_with_usage_limit_phrase(ai, model_double):
    model_double.fail_insufficient_credits()
    with pytest.raises(PaymentRequired) as caught:
        await ask(ai)
    assert caught.value.status == 402 and "Usage limit" in caught.value.message
    assert len(model_double.chat_requests) == 1  # never retried


async def test_429_insufficient_quota_is_402(ai, model_double):
    model_double.fail_next(
        429,
        body={
            "error": {
                "message": "You exceeded your current quota",
                "type": "insufficient_quota",
                "code": "insufficient_quota",
            }
        },
    )
    with pytest.raises(PaymentRequired):
        await ask(ai)


async def test_429_is_rate_limited_with_the_upstream_retry_hint(ai, model_double):
    model_double.fail_rate_limited(retry_after=17)
    with pytest.raises(RateLimited) as caught:
        await ask(ai)
    error = caught.value
    assert error.status == 429 and "Rate limit" in error.message
    assert error.headers["Retry-After"] == "17" and error.extra["retryAfter"] == 17
    assert len(model_double.chat_requests) == 1  # the caller decides when to come back


async def test_a_429_is_measured_as_rate_limited(ai, model_double, telemetry_capture):
    """The model-429 alert and the workbook count talenti.ai.call.duration with outcome rate_limited."""
    measured = {"purpose": "test", "outcome": "rate_limited"}
    before = telemetry_capture.total("talenti.ai.call.duration", **measured)
    model_double.fail_rate_limited(retry_after=1)
    with pytest.raises(RateLimited):
        await ask(ai)
    assert telemetry_capture.total("talenti.ai.call.duration", **measured) == before + 1


@pytest.mark.parametrize(
    "headers, seconds",
    [
        ({"retry-after-ms": "2500"}, 3),
        ({"retry-after": "4"}, 4),
        ({"x-ratelimit-reset-requests": "1m30s", "x-ratelimit-reset-tokens": "20ms"}, 90),
        ({"retry-after": "soon"}, 10),
        ({}, 10),
    ],
)
def test_retry_hint_parsing(headers, seconds):
    assert retry_after_seconds(headers) == seconds


async def test_one_500_is_retried_two_are_502(ai, model_double):
    model_double.fail_server_error(times=1)
    model_double.push_tool_call("give_verdict", {"label": "ok", "score": 2})
    assert (await ask(ai)).label == "ok"
    model_double.reset()
    model_double.fail_server_error(times=2)
    with pytest.raises(UpstreamError, match="status 500"):
        await ask(ai)
    assert len(model_double.chat_requests) == 2


async def test_stall_times_out_quickly_as_502(ai, model_double):
    model_double.push(ScriptedReply(tool_calls=[ToolCall("give_verdict", '{"label":"x","score":1}')], delay=5))
    with pytest.raises(UpstreamError, match="did not answer in time"):
        await ask(ai, timeout=0.5)
    assert len(model_double.chat_requests) == 1  # a timeout is not retried


async def test_unreachable_model_is_502(model_double):
    settings = ai_settings(model_double, AI_BASE_URL="http://127.0.0.1:9/v1")
    client = ai_from_settings(settings)
    try:
        with pytest.raises(UpstreamError, match="could not be reached"):
            await ask(client)
    finally:
        await client.close()


async def test_stream_text_forwards_deltas(ai, model_double):
    model_double.push(ScriptedReply(content="Tell me about a project you led.", chunks=5))
    pieces = [p async for p in ai.stream_text(purpose="test", prompt_version="t-1", messages=MESSAGES)]
    assert len(pieces) == 5 and "".join(pieces) == "Tell me about a project you led."
    sent = model_double.chat_requests[-1]
    assert sent["stream"] is True and sent["model"] == MODEL and "tools" not in sent


async def test_stream_broken_midway_raises_502_after_the_first_deltas(ai, model_double):
    model_double.push(ScriptedReply(content="abcdefgh", chunks=4, break_after_chunks=3))
    received = []
    with pytest.raises(UpstreamError):
        async for piece in ai.stream_text(purpose="test", prompt_version="t-1", messages=MESSAGES):
            received.append(piece)
    assert received == ["ab", "cd"]


async def test_stream_402_before_first_token(ai, model_double):
    model_double.fail_insufficient_credits()
    with pytest.raises(PaymentRequired):
        async for _ in ai.stream_text(purpose="test", prompt_version="t-1", messages=MESSAGES):
            pass


async def test_complete_text_asks_once_more_for_an_empty_reply(ai, model_double):
    model_double.push_text("  Hello there.  ")
    assert await ai.complete_text(purpose="test", prompt_version="t-1", messages=MESSAGES) == "Hello there."
    model_double.push_text("")
    model_double.push_text("Welcome.")
    assert await ai.complete_text(purpose="test", prompt_version="t-1", messages=MESSAGES) == "Welcome."
    model_double.push_text("")
    model_double.push_text("  ")
    with pytest.raises(UpstreamError, match="empty"):
        await ai.complete_text(purpose="test", prompt_version="t-1", messages=MESSAGES)
    assert len(model_double.chat_requests) == 5


async def test_an_empty_stream_is_asked_for_once_more(ai, model_double):
    model_double.push(ScriptedReply(content=""), ScriptedReply(content="Hello again.", chunks=2))
    pieces = [p async for p in ai.stream_text(purpose="test", prompt_version="t-1", messages=MESSAGES)]
    assert "".join(pieces) == "Hello again." and len(model_double.chat_requests) == 2


async def test_a_provider_refusing_stream_options_is_asked_again_without_them(ai, model_double, caplog):
    """Streams ask for the usage chunk (the AI decision log's token counts); an older Azure
    API version answers 400 "Unknown parameter": the stream is asked for again without it."""
    model_double.fail_next(
        400,
        body={
            "error": {
                "message": "Unknown parameter: 'stream_options'.",
                "type": "invalid_request_error",
                "param": "stream_options",
                "code": "unknown_parameter",
            }
        },
    )
    model_double.push(ScriptedReply(content="Hello there.", chunks=2), ScriptedReply(content="Again.", chunks=2))
    calls = []
    with caplog.at_level("INFO", logger="talenti"):
        pieces = [
            p
            async for p in ai.stream_text(purpose="test", prompt_version="t-1", messages=MESSAGES, on_call=calls.append)
        ]
    assert "".join(pieces) == "Hello there."
    first, second = model_double.chat_requests
    assert first["stream_options"] == {"include_usage": True} and "stream_options" not in second
    assert any('"ai.stream_usage_refused"' in r.getMessage() for r in caplog.records)
    [call] = calls
    assert call.outcome == "ok" and call.input_tokens is None  # no usage chunk without the option
    assert [p async for p in ai.stream_text(purpose="test", prompt_version="t-1", messages=MESSAGES)]
    assert "stream_options" not in model_double.chat_requests[-1]  # the client remembers


async def test_on_call_hears_a_filtered_prompt_as_refused_and_an_abandoned_stream_as_failed(ai, model_double):
    """The AI decision log's outcomes from the client's side (shared/platform/decision_log.py)."""
    model_double.fail_next(
        400,
        body={
            "error": {"message": "The prompt was filtered", "type": None, "param": "prompt", "code": "content_filter"}
        },
    )
    calls = []
    with pytest.raises(UpstreamError):
        await ai.complete_text(purpose="test", prompt_version="t-1", messages=MESSAGES, on_call=calls.append)
    model_double.push(ScriptedReply(content="One two three four.", chunks=4))
    stream = ai.stream_text(purpose="test", prompt_version="t-1", messages=MESSAGES, on_call=calls.append)
    assert await anext(stream)
    await stream.aclose()  # the client went away mid-reply
    refused, abandoned = calls
    assert refused.outcome == "refused" and refused.purpose == "test" and refused.prompt_version == "t-1"
    assert abandoned.outcome == "failed"
    assert type(abandoned.latency_ms) is int and abandoned.latency_ms >= 0


async def test_a_provider_refusing_strict_mode_is_asked_again_without_it(ai, model_double, caplog):
    model_double.fail_next(
        400,
        body={
            "error": {
                "message": "Invalid schema for function 'give_verdict': 'strict' is not supported with this model",
                "type": "invalid_request_error",
                "code": None,
            }
        },
    )
    model_double.push_tool_call("give_verdict", {"label": "ok", "score": 3})
    with caplog.at_level("INFO", logger="talenti"):
        assert (await ask(ai)).score == 3
    first, second = model_double.chat_requests
    assert first["tools"][0]["function"]["strict"] is True
    assert "strict" not in second["tools"][0]["function"]
    # Without strict mode the keywords stay (the description says them too).
    assert second["tools"][0]["function"]["parameters"]["properties"]["score"]["maximum"] == 10
    assert any('"ai.strict_refused"' in r.getMessage() for r in caplog.records)
    model_double.push_tool_call("give_verdict", {"label": "ok", "score": 4})
    await ask(ai)  # the client remembers
    assert "strict" not in model_double.chat_requests[-1]["tools"][0]["function"]


async def test_other_400s_are_still_502(ai, model_double):
    model_double.fail_next(
        400,
        body={
            "error": {
                "message": "context length exceeded",
                "type": "invalid_request_error",
                "code": "context_length_exceeded",
            }
        },
    )
    with pytest.raises(UpstreamError, match="status 400"):
        await ask(ai)
    assert len(model_double.chat_requests) == 1


async def test_repairs_are_logged_with_field_and_action_never_content(ai, model_double, caplog):
    model_double.push_tool_call("give_verdict", {"Label": "secret-label", "score": "7", "confidence": "secret-extra"})
    with caplog.at_level("INFO", logger="talenti"):
        assert await ask(ai) == Verdict(label="secret-label", score=7)
    repaired = [json.loads(r.getMessage()) for r in caplog.records if '"ai.repaired"' in r.getMessage()]
    assert {(r["field"], r["purpose"], r["promptVersion"]) for r in repaired} == {
        ("label", "test", "t-1"),
        ("score", "test", "t-1"),
        ("(answer)", "test", "t-1"),
    }
    assert all("secret" not in r.getMessage() for r in caplog.records)
    assert len(model_double.chat_requests) == 1  # repaired, not retried


async def test_logs_carry_purpose_version_model_latency_never_content(ai, model_double, caplog):
    model_double.push_tool_call("give_verdict", {"label": "secret-label", "score": 4})
    with caplog.at_level("INFO", logger="talenti"):
        await ask(ai)
    records = [json.loads(r.getMessage()) for r in caplog.records if '"ai.call"' in r.getMessage()]
    assert records and records[-1]["purpose"] == "test" and records[-1]["promptVersion"] == "t-1"
    latency = records[-1]["latencyMs"]  # milliseconds to 0.1 in the log (the decision log's column is an int)
    assert records[-1]["model"] == MODEL
    assert type(latency) in (int, float) and latency >= 0 and latency == round(latency, 1)
    assert all("careful grader" not in r.getMessage() and "secret-label" not in r.getMessage() for r in caplog.records)


def test_not_configured_names_the_missing_setting(model_double):
    from shared.platform.config import Settings

    with pytest.raises(NotConfigured, match="AI_MODEL") as caught:
        ai_from_settings(Settings(APP_ENV="test"))
    assert caught.value.status == 503
    with pytest.raises(NotConfigured, match="AI_API_KEY"):
        ai_from_settings(Settings(APP_ENV="test", AI_MODEL="m"))
    with pytest.raises(NotConfigured, match="AZURE_OPENAI_DEPLOYMENT"):
        ai_from_settings(Settings(APP_ENV="test", AZURE_OPENAI_ENDPOINT="https://x.openai.azure.com"))


async def test_azure_openai_with_key_uses_deployment_url(model_double):
    from shared.platform.config import Settings

    settings = Settings(
        APP_ENV="test",
        AZURE_OPENAI_ENDPOINT=model_double.url,
        AZURE_OPENAI_DEPLOYMENT="talenti-gpt",
        AZURE_OPENAI_API_KEY="sk-test-ai",
        AZURE_OPENAI_API_VERSION="2024-10-21",
    )
    client = ai_from_settings(settings)
    assert client.model_name == client.scoring_model_name == "talenti-gpt"
    model_double.push_tool_call("give_verdict", {"label": "azure", "score": 9})
    try:
        assert (await ask(client)).label == "azure"
    finally:
        await client.close()
    request = model_double.requests[-1]
    assert request.path == "/openai/deployments/talenti-gpt/chat/completions"
    assert request.query["api-version"] == "2024-10-21" and request.headers["api-key"] == "sk-test-ai"


def test_azure_without_key_uses_managed_identity_token_provider(model_double):
    from shared.platform.config import Settings

    settings = Settings(APP_ENV="test", AZURE_OPENAI_ENDPOINT=model_double.url, AZURE_OPENAI_DEPLOYMENT="d")
    client = ai_from_settings(settings)
    # Building the SDK client must not fetch a token yet (that happens per request).
    sdk = client.client
    assert callable(sdk._azure_ad_token_provider)
    assert "sk-" not in str(sdk.api_key)


async def test_services_ai_is_503_until_configured(services):
    services.__dict__.pop("ai", None)
    with pytest.raises(NotConfigured):
        services.ai
    assert "ai" not in services.__dict__


def test_building_a_client_imports_nothing_heavy():
    import subprocess
    import sys

    code = (
        "import sys; from shared.ai.client import AIClient; "
        "AIClient(client_factory=lambda: None, model='m', timeout=1); "
        "print('openai' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
