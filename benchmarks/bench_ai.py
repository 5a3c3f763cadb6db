"""The interviewer's overhead through the local host: POST /api/ai/interviewer
(auth, validation, rate limit, the reply and the competency assessment made
concurrently) and the streamed turn, each against GET /api/health, interleaved
in one run, with a model double that answers instantly. Target: median ratio
of the JSON turn to health under 3."""

from __future__ import annotations

import asyncio
import json
import os
import uuid

import httpx

from benchmarks.common import bench_database, interleaved, local_host

BODY = {"messages": [{"role": "assistant", "content": "Tell me about a project you are proud of."},
                     {"role": "user", "content": "I led our move to React and TypeScript, mentoring two juniors."}],
        "jobTitle": "Senior Frontend Engineer", "companyName": "Acme", "currentQuestionIndex": 2,
        "totalQuestions": 6, "competenciesToCover": ["communication", "technical_skills"]}


def instant_model():
    """A model double that answers at once (its handler turns Nagle's algorithm off, see
    tests/doubles/base.py: otherwise a delayed ACK holds every answer ~40 ms, which no
    real provider shows)."""

    from shared.prompts import competencies
    from tests.doubles.openai_server import OpenAIDouble, ScriptedReply, tool_call_reply

    def respond(body):
        if body.get("tools"):
            return tool_call_reply(competencies.TOOL_NAME, {"detectedCompetencies": ["technical_skills"]})
        return ScriptedReply(content="Thanks. What was the hardest part of that migration?", chunks=8)

    return OpenAIDouble(api_key="sk-bench", default_responder=respond)


async def run(base: str, database_url: str, rounds: int) -> dict:
    from scripts.dev_token import main as mint_token

    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("APP_ENV", "test")
    token = await mint_token(uuid.uuid4())
    headers = {"authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, timeout=30,
                                 limits=httpx.Limits(max_connections=8, max_keepalive_connections=8)) as client:
        async def health() -> bool:
            return (await client.get("/api/health")).status_code == 200

        async def turn() -> bool:
            response = await client.post("/api/ai/interviewer", json=BODY, headers=headers)
            return response.status_code == 200 and response.json()["competencyCovered"] == "technical_skills"

        async def streamed_turn() -> bool:
            async with client.stream("POST", "/api/ai/interviewer/stream", json=BODY, headers=headers) as stream:
                lines = [line async for line in stream.aiter_lines() if line.startswith("data: ")]
            return stream.status_code == 200 and lines[-1] == "data: [DONE]" and '"done": true' in lines[-2]

        series = await interleaved({"GET /api/health": health, "POST /api/ai/interviewer": turn,
                                    "POST /api/ai/interviewer/stream": streamed_turn},
                                   rounds=rounds, concurrency=4)
    for s in series.values():
        print(s.line())
    health_median = series["GET /api/health"].median
    ratio = series["POST /api/ai/interviewer"].median / health_median
    stream_ratio = series["POST /api/ai/interviewer/stream"].median / health_median
    print(f"median ratio interviewer/health = {ratio:.2f} (target < 3); stream/health = {stream_ratio:.2f}")
    return {name: {"median_ms": s.median, "p99_ms": s.p99, "errors": s.errors} for name, s in series.items()} | {
        "ratio": ratio, "stream_ratio": stream_ratio}


def main(rounds: int = 300) -> dict:
    with instant_model() as model, bench_database() as url:
        env = {"DATABASE_URL": url, "AI_BASE_URL": model.url + "/v1", "AI_API_KEY": "sk-bench",
               "AI_MODEL": "gpt-bench", "RATE_LIMITS": json.dumps({"ai/interviewer": "1000000/60"})}
        with local_host(env) as base:
            return asyncio.run(run(base, url, rounds))


if __name__ == "__main__":
    main()
