"""Self-tests: the real openai SDK against OpenAIDouble."""

import json

import openai
import pytest

from tests.doubles.openai_server import OpenAIDouble, tool_call_reply

API_VERSION = "2024-10-21"
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "score_answer",
            "parameters": {"type": "object", "properties": {"score": {"type": "integer"}}},
        },
    }
]


@pytest.fixture
def double():
    with OpenAIDouble(api_key="sk-test") as d:
        yield d


def _client(double, **kw):
    return openai.AsyncOpenAI(base_url=double.url + "/v1", api_key="sk-test", max_retries=0, timeout=5, **kw)


@pytest.mark.asyncio
async def test_text_reply_and_request_recording(double):
    double.push_text("Hello candidate")
    async with _client(double) as client:
        result = await client.chat.completions.create(
            model="gpt-test", messages=[{"role": "system", "content": "be kind"}, {"role": "user", "content": "hi"}]
        )
    assert result.choices[0].message.content == "Hello candidate"
    assert result.choices[0].finish_reason == "stop"
    sent = double.chat_requests[-1]
    assert sent["model"] == "gpt-test"
    assert sent["messages"][0] == {"role": "system", "content": "be kind"}
    assert double.requests[-1].headers["authorization"] == "Bearer sk-test"


@pytest.mark.asyncio
async def test_tool_call_and_malformed_arguments(double):
    double.push_tool_call("score_answer", {"score": 4})
    double.push_tool_call("score_answer", '{"score": 4')  # deliberately broken JSON
    async with _client(double) as client:
        kwargs = dict(
            model="m",
            messages=[{"role": "user", "content": "x"}],
            tools=TOOLS,
            tool_choice={"type": "function", "function": {"name": "score_answer"}},
        )
        good = await client.chat.completions.create(**kwargs)
        bad = await client.chat.completions.create(**kwargs)
    call = good.choices[0].message.tool_calls[0]
    assert call.function.name == "score_answer"
    assert json.loads(call.function.arguments) == {"score": 4}
    assert good.choices[0].finish_reason == "tool_calls"
    assert bad.choices[0].message.tool_calls[0].function.arguments == '{"score": 4'
    assert double.chat_requests[0]["tools"] == TOOLS
    assert double.chat_requests[0]["tool_choice"]["function"]["name"] == "score_answer"


@pytest.mark.asyncio
async def test_streaming_text_and_tool_call(double):
    double.push_text("one two three four five")
    double.push_tool_call("score_answer", {"score": 5}, chunks=3)
    async with _client(double) as client:
        stream = await client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "x"}], stream=True, stream_options={"include_usage": True}
        )
        pieces = [c.choices[0].delta.content async for c in stream if c.choices]
        stream = await client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "x"}], stream=True, tools=TOOLS
        )
        args = [
            c.choices[0].delta.tool_calls[0].function.arguments
            async for c in stream
            if c.choices and c.choices[0].delta.tool_calls
        ]
    assert "".join(p or "" for p in pieces) == "one two three four five"
    assert len([p for p in pieces if p]) > 1
    assert json.loads("".join(args)) == {"score": 5}
    assert len(args) == 4  # name event + 3 argument pieces


@pytest.mark.asyncio
async def test_stream_broken_midway(double):
    double.push_text("a long answer that never finishes", break_after_chunks=2)
    async with _client(double) as client:
        stream = await client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "x"}], stream=True
        )
        received = []
        # openai 3.x wraps the transport error (httpx2.RemoteProtocolError)
        with pytest.raises(openai.APIConnectionError):
            async for chunk in stream:
                received.append(chunk)
    assert len(received) == 2


@pytest.mark.asyncio
async def test_default_responder_sees_request(double):
    double.default_responder = lambda body: tool_call_reply(body["tools"][0]["function"]["name"], {"score": 1})
    async with _client(double) as client:
        result = await client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "x"}], tools=TOOLS
        )
    assert result.choices[0].message.tool_calls[0].function.name == "score_answer"


@pytest.mark.asyncio
async def test_error_modes(double):
    double.fail_insufficient_credits()
    double.fail_rate_limited(retry_after=1)
    double.fail_server_error()
    async with _client(double) as client:
        args = dict(model="m", messages=[{"role": "user", "content": "x"}])
        with pytest.raises(openai.APIStatusError) as err:
            await client.chat.completions.create(**args)
        assert err.value.status_code == 402
        assert err.value.body["type"] == "insufficient_quota"
        with pytest.raises(openai.RateLimitError) as err:
            await client.chat.completions.create(**args)
        assert err.value.response.headers["retry-after"] == "1"
        with pytest.raises(openai.InternalServerError):
            await client.chat.completions.create(**args)
        # no script and no responder: a loud 500
        with pytest.raises(openai.InternalServerError, match="no scripted reply"):
            await client.chat.completions.create(**args)


@pytest.mark.asyncio
async def test_stall_times_out(double):
    double.push_text("late", delay=3)
    async with _client(double) as client:
        with pytest.raises(openai.APITimeoutError):
            await client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}], timeout=0.3)


@pytest.mark.asyncio
async def test_wrong_key_is_401(double):
    async with openai.AsyncOpenAI(base_url=double.url + "/v1", api_key="nope", max_retries=0) as client:
        with pytest.raises(openai.AuthenticationError):
            await client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])


@pytest.mark.asyncio
async def test_azure_client(double):
    double.push_text("from azure")
    double.push_text("streamed from azure")
    async with openai.AsyncAzureOpenAI(
        azure_endpoint=double.url, api_version=API_VERSION, api_key="sk-test", max_retries=0, timeout=5
    ) as client:
        result = await client.chat.completions.create(
            model="my-deployment", messages=[{"role": "user", "content": "x"}]
        )
        stream = await client.chat.completions.create(
            model="my-deployment", messages=[{"role": "user", "content": "x"}], stream=True
        )
        streamed = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
    assert result.choices[0].message.content == "from azure"
    assert streamed == "streamed from azure"
    req = double.requests[0]
    assert req.path == "/openai/deployments/my-deployment/chat/completions"
    assert req.query["api-version"] == API_VERSION
    assert req.headers["api-key"] == "sk-test"
