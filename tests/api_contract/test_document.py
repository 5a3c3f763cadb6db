"""The OpenAPI document against what the app really does, beyond schemathesis:
the per-endpoint tables name real endpoints, a real stream's events are the
documented ones, and a NUL character (which PostgreSQL cannot store) is a 400."""

from __future__ import annotations

import json

import httpx


def test_every_endpoint_named_in_the_document_tables_is_declared():
    import function_app  # noqa: F401  (declares the endpoints)
    from shared.platform.http import ENDPOINTS
    from shared.platform.openapi import _SPECIAL, OUTCOMES, SELF_CONTAINED

    assert set(OUTCOMES) | set(_SPECIAL) | SELF_CONTAINED <= set(ENDPOINTS)


async def test_a_real_stream_sends_the_documented_events(contract_host, credentials):
    from shared.interviewer.models import STREAM_END, StreamDelta, StreamDone, StreamFailure

    body = {"messages": [{"role": "assistant", "content": "Why data?"}, {"role": "user", "content": "I like it."}]}
    data = []
    headers = {"authorization": f"Bearer {credentials['token']}"}
    async with (
        httpx.AsyncClient(base_url=contract_host, timeout=30) as client,
        client.stream("POST", "/api/ai/interviewer/stream", json=body, headers=headers) as response,
    ):
        assert response.status_code == 200
        async for line in response.aiter_lines():
            if line.startswith("data: "):
                data.append(line.removeprefix("data: "))
    assert data[-1] == STREAM_END and len(data) >= 3
    events = [json.loads(item) for item in data[:-1]]
    for event in events[:-1]:
        assert set(event) == set(StreamDelta.model_fields)
    assert set(events[-1]) == set(StreamDone.model_fields)
    StreamDone.model_validate(events[-1])
    assert set(StreamFailure.model_fields) == {"error"}


async def test_a_nul_character_in_a_body_is_a_400(contract_host, credentials):
    async with httpx.AsyncClient(base_url=contract_host, timeout=30) as client:
        response = await client.post(
            "/api/organisations",
            content='{"name": "Acme\\u0000"}',
            headers={"authorization": f"Bearer {credentials['token']}", "content-type": "application/json"},
        )
        assert response.status_code == 400 and "NUL" in response.json()["error"]
        # An escaped backslash before "u0000" is plain text, not a NUL.
        response = await client.post(
            "/api/organisations",
            content='{"name": "Acme \\\\u0000"}',
            headers={"authorization": f"Bearer {credentials['token']}", "content-type": "application/json"},
        )
        assert response.status_code == 200 and response.json()["organisation"]["name"] == "Acme \\u0000"
