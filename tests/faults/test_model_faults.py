"""The model stalling past AI_TIMEOUT_SECONDS, over real HTTP through the local
host: interviewer turns (JSON and stream) answer 502 without waiting for the
model, nothing of a failed turn is written to the transcript, and the next turn
succeeds once the model answers again."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from shared.interviewer import competency_prompts as competency_prompt
from tests.ai.seed import create_application, create_interview, create_org, create_role
from tests.doubles.openai_server import OpenAIDouble, ScriptedReply, tool_call_reply
from tests.support import auth_headers

API_KEY = "sk-fault"
TIMEOUT_SECONDS = 1.0
STALL_SECONDS = 12.0  # far past the timeout (and past its one-second hard cap)
CONCURRENT_TURNS = 4
REPLY = "Thanks. How did you measure that the change worked?"


@pytest.fixture(scope="module")
def model():
    with OpenAIDouble(api_key=API_KEY) as double:
        yield double


@pytest.fixture(scope="module")
def base(devhosts, model):
    return devhosts.start(
        {
            "AI_BASE_URL": model.url + "/v1",
            "AI_API_KEY": API_KEY,
            "AI_MODEL": "gpt-fault",
            "AI_TIMEOUT_SECONDS": str(TIMEOUT_SECONDS),
            "RATE_LIMITS": json.dumps({"ai/interviewer": "1000/60"}),
        }
    )


def answering(model: OpenAIDouble, *, stall: float) -> None:
    """Every call (the reply and the competency assessment) answers after `stall` seconds."""

    def respond(body):
        if body.get("tools"):
            return tool_call_reply(
                competency_prompt.TOOL_NAME, {"detectedCompetencies": ["communication"]}, delay=stall
            )
        return ScriptedReply(content=REPLY, delay=stall, chunks=4)

    model.reset()
    model.default_responder = respond


async def candidate_interview(db):
    org = await create_org(db, name="Stall Co")
    role = await create_role(db, org, title="Data Engineer")
    application, candidate = await create_application(db, role)
    return await create_interview(db, application, status="in_progress"), candidate


def turn(interview) -> dict:
    return {
        "interviewId": str(interview),
        "jobTitle": "Data Engineer",
        "companyName": "Stall Co",
        "messages": [
            {"role": "assistant", "content": "How did you speed up the nightly load?"},
            {"role": "user", "content": "I partitioned the table by day and loaded in parallel."},
        ],
        "competenciesToCover": ["communication", "technical_skills"],
    }


async def transcript(db, interview) -> list[dict]:
    return await db.fetch_all(
        "select speaker, content from transcript_segments where interview_id = %s order by start_time_ms, speaker",
        (interview,),
    )


async def streamed(client, body, headers) -> tuple[int, list[str], str]:
    async with client.stream("POST", "/api/ai/interviewer/stream", json=body, headers=headers) as response:
        text = (await response.aread()).decode()
    lines = [line[len("data: ") :] for line in text.splitlines() if line.startswith("data: ")]
    return response.status_code, lines, text


async def test_stalled_model_gives_prompt_502_writes_nothing_and_the_next_turn_succeeds(db, base, model):
    interview, candidate = await candidate_interview(db)
    headers = auth_headers(candidate)
    async with httpx.AsyncClient(base_url=base, timeout=STALL_SECONDS * 2) as client:
        # A practice turn first (saves nothing): the host has loaded the model SDK before the clock starts.
        answering(model, stall=0)
        practice = await client.post(
            "/api/ai/interviewer", json={**turn(interview), "interviewId": None, "isPractice": True}, headers=headers
        )
        assert practice.status_code == 200, practice.text

        answering(model, stall=STALL_SECONDS)
        # The app gives up on its own timeout: a client that waited out the stall would time out itself.
        async with httpx.AsyncClient(base_url=base, timeout=STALL_SECONDS / 2) as impatient:
            answers = await asyncio.gather(
                *(
                    impatient.post("/api/ai/interviewer", json=turn(interview), headers=headers)
                    for _ in range(CONCURRENT_TURNS)
                ),
                streamed(impatient, turn(interview), headers),
            )
        *json_turns, (stream_status, stream_events, stream_body) = answers
        for answer in json_turns:
            assert answer.status_code == 502, answer.text
            assert "did not answer in time" in answer.json()["error"]
        # The stream fails before its first token, so the failure still has its HTTP status.
        assert stream_status == 502 and not stream_events and "did not answer in time" in stream_body
        assert await transcript(db, interview) == []  # nothing half-written

        answering(model, stall=0)
        answer = await client.post("/api/ai/interviewer", json=turn(interview), headers=headers)
        assert answer.status_code == 200, answer.text
        assert answer.json()["message"] == REPLY
        status, events, _ = await streamed(client, turn(interview), headers)
        assert status == 200 and events[-1] == "[DONE]" and json.loads(events[-2])["done"] is True

    rows = await transcript(db, interview)
    assert sorted(r["speaker"] for r in rows) == ["ai", "ai", "candidate", "candidate"]  # two whole turns
    assert [r["content"] for r in rows if r["speaker"] == "ai"] == [REPLY, REPLY]
