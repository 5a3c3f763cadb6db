"""The interviewer's overhead through the local host: POST /api/ai/interviewer
(auth, validation, rate limit, the reply and the competency assessment made
concurrently) and the streamed turn, each against GET /api/health, interleaved
in one run, with a model double that answers instantly. Target: median ratio
of the JSON turn to health under 3."""

from __future__ import annotations

import asyncio

from benchmarks.common import bench_database, interleaved, local_client, local_host, model_double_env, report, signed_in

BODY = {
    "messages": [
        {"role": "assistant", "content": "Tell me about a project you are proud of."},
        {"role": "user", "content": "I led our move to React and TypeScript, mentoring two juniors."},
    ],
    "jobTitle": "Senior Frontend Engineer",
    "companyName": "Acme",
    "currentQuestionIndex": 2,
    "totalQuestions": 6,
    "competenciesToCover": ["communication", "technical_skills"],
}


def instant_model():
    """A model double that answers at once (its handler turns Nagle's algorithm off, see
    tests/doubles/base.py: otherwise a delayed ACK holds every answer ~40 ms, which no
    real provider shows)."""

    from shared.interviewer import competency_prompts as competencies
    from tests.doubles.openai_server import OpenAIDouble, ScriptedReply, tool_call_reply

    def respond(body):
        if body.get("tools"):
            return tool_call_reply(competencies.TOOL_NAME, {"detectedCompetencies": ["technical_skills"]})
        return ScriptedReply(content="Thanks. What was the hardest part of that migration?", chunks=8)

    return OpenAIDouble(api_key="sk-bench", default_responder=respond)


async def run(base: str, database_url: str, rounds: int) -> dict:
    headers = await signed_in(database_url)
    async with local_client(base) as client:

        async def health() -> bool:
            return (await client.get("/api/health")).status_code == 200

        async def turn() -> bool:
            response = await client.post("/api/ai/interviewer", json=BODY, headers=headers)
            return response.status_code == 200 and response.json()["competencyCovered"] == "technical_skills"

        async def streamed_turn() -> bool:
            async with client.stream("POST", "/api/ai/interviewer/stream", json=BODY, headers=headers) as stream:
                lines = [line async for line in stream.aiter_lines() if line.startswith("data: ")]
            return stream.status_code == 200 and lines[-1] == "data: [DONE]" and '"done": true' in lines[-2]

        series = await interleaved(
            {
                "GET /api/health": health,
                "POST /api/ai/interviewer": turn,
                "POST /api/ai/interviewer/stream": streamed_turn,
            },
            rounds=rounds,
            concurrency=4,
        )
    figures = report(series, "POST /api/ai/interviewer", "GET /api/health", target="< 3")
    stream_ratio = series["POST /api/ai/interviewer/stream"].median / series["GET /api/health"].median
    print(f"median ratio stream / health = {stream_ratio:.2f}")
    return figures | {"stream_ratio": stream_ratio}


def main(rounds: int = 300) -> dict:
    with instant_model() as model, bench_database() as url:
        env = model_double_env(url, model.url, {"ai/interviewer": "1000000/60"})
        with local_host(env) as base:
            return asyncio.run(run(base, url, rounds))


if __name__ == "__main__":
    main()
