"""The OpenAPI document against what the app really does, beyond schemathesis:
every operation sits in its feature's group (the former paths in their own),
the builder knows no endpoint by name, a real stream's events are the
documented ones, and a NUL character (which PostgreSQL cannot store) is a 400."""

from __future__ import annotations

import json
from pathlib import Path

import httpx


def test_every_operation_is_in_its_features_group_and_the_former_paths_in_their_own():
    import function_app  # noqa: F401  (declares the endpoints)
    from shared.platform.http import ENDPOINTS
    from shared.platform.openapi import build_openapi
    from shared.platform.operation import FORMER_TAG
    from tests.platform.test_layout import BLUEPRINTS, FEATURES

    document = build_openapi(ENDPOINTS, "test")
    names = [tag["name"] for tag in document["tags"]]
    assert names[-1] == FORMER_TAG and len(names) == len(set(names))
    assert set(FEATURES) <= set(names) <= {*BLUEPRINTS, FORMER_TAG}
    for spec in ENDPOINTS.values():
        assert spec.feature in BLUEPRINTS, spec.name  # the declaring blueprint's name
        for method in spec.methods:
            assert document["paths"][spec.path][method.lower()]["tags"] == [spec.feature]
            if spec.former_path:
                assert document["paths"][spec.former_path][method.lower()]["tags"] == [FORMER_TAG]
    tagged = {path: {tag for op in item.values() for tag in op["tags"]} for path, item in document["paths"].items()}
    assert all((tags == {FORMER_TAG}) == path.startswith("/functions/v1/") for path, tags in tagged.items())


def test_the_document_builder_knows_no_endpoint_by_name():
    """An endpoint's facts are declared on its @api(...): adding one touches its blueprint
    and feature only."""
    import function_app  # noqa: F401
    from shared.platform import openapi
    from shared.platform.http import ENDPOINTS

    source = Path(openapi.__file__).read_text()
    named = {name for name in ENDPOINTS if f'"{name}"' in source or f"'{name}'" in source}
    assert named <= {"openapi"}  # the document's own version key, `"openapi": "3.1.0"`
    assert "from shared." not in source.replace("from shared.platform.", "")  # no feature is imported


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
