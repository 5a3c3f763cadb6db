"""Fixtures for scoring: the model double answering like a scoring model, the
app's services pointed at it, the local Durable runtime in this process (so
functions called as the worker calls them get a working durable client), and
interviews to score."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

import pytest

from tests.ai.fixtures import ai_settings
from tests.ai.seed import create_application, create_interview, create_org, create_role
from tests.doubles.openai_server import tool_call_reply
from tests.durable_runtime import durable_runtime
from tests.retention.conftest import (  # noqa: F401  (Supabase Auth and Storage doubles, for erasure)
    auth_admin,
    cv_storage,
    supabase_cv_storage,
    supabase_double,
)
from tests.support import create_user

INVENTED_QUOTE = "I single-handedly rebuilt the internet in a weekend"
TRANSCRIPT = [
    {"speaker": "ai", "content": "Tell me about a system you built.", "start_time_ms": 0},
    {
        "speaker": "candidate",
        "content": "I led the migration of our payments platform to an event-driven design.",
        "start_time_ms": 4000,
    },
    {"speaker": "ai", "content": "How did you keep it reliable?", "start_time_ms": 12000},
    {
        "speaker": "candidate",
        "content": "We added idempotency keys and replayed   every event in staging first.",
        "start_time_ms": 15000,
    },
]


def scoring_answer(request: dict, *, score: float = 7.5, skip: str | None = None, override: dict | None = None):
    """A tool call scoring every rubric dimension of the request: one real quote
    (case and spacing changed, as models do) and one invented quote each."""
    document = json.loads(next(m["content"] for m in request["messages"] if m["role"] == "user"))
    candidate = [t["text"] for t in document["transcript"] if t["speaker"] == "candidate"]
    real_quote = " ".join(candidate[0].split()[:6]).upper()
    dimensions = [
        {
            "dimension": d["key"],
            "score": (override or {}).get(d["key"], score),
            "evidence": f"Evidence for {d['label']}.",
            "cited_quotes": [real_quote, INVENTED_QUOTE],
        }
        for d in document["rubric"]
        if d["key"] != skip
    ]
    arguments = {
        "dimensions": dimensions,
        "narrative_summary": "A strong, clear candidate.",
        "candidate_feedback": "Thank you; go deeper on trade-offs.",
        "anti_cheat_risk_level": "low",
        "anti_cheat_notes": "Answers were spontaneous.",
    }
    return tool_call_reply(request["tool_choice"]["function"]["name"], arguments)


@pytest.fixture
def model(model_double):
    """The model double (tests/ai's) answering valid scores unless a test scripts otherwise."""
    model_double.default_responder = scoring_answer
    return model_double


@pytest.fixture
async def scoring_services(services, model, monkeypatch):
    """The app's services with the AI on the double and quick retries."""
    from shared.ai.client import ai_from_settings

    client = ai_from_settings(ai_settings(model))
    services.__dict__["ai"] = client
    monkeypatch.setattr(services.settings, "SCORE_RETRY_ATTEMPTS", 2)
    monkeypatch.setattr(services.settings, "SCORE_RETRY_INTERVAL_SECONDS", 0.05)
    yield services
    services.__dict__.pop("ai", None)
    await client.close()


@pytest.fixture(scope="package")
async def durable(services):
    """devhost's Durable runtime served on loopback from this test process, wired
    into the function host `call_function` uses (for this package only)."""
    async with durable_runtime() as runtime:
        yield runtime


@dataclass
class Interview:
    id: uuid.UUID
    application_id: uuid.UUID
    organisation_id: uuid.UUID
    role_id: uuid.UUID
    recruiter: uuid.UUID


async def seed_interview(
    db, *, transcript=TRANSCRIPT, rubric=None, member_role="recruiter", application_status="interviewing", values=None
) -> Interview:
    """An organisation with a member, a role (optionally with a rubric), an
    application, a completed interview and its stored transcript."""
    recruiter = await create_user(db)
    org = await create_org(db, member=recruiter, role=member_role, name="Scoring Co")
    role = await create_role(db, org, title="Platform Engineer")
    # Closed: an active role is visible to everyone (RLS), and tests/db counts what is visible.
    await db.execute("update job_roles set status = 'closed' where id = %s", (role,))
    if rubric is not None:
        await db.execute("update job_roles set scoring_rubric = %s::jsonb where id = %s", (json.dumps(rubric), role))
    if values is not None:
        await db.execute(
            "update organisations set values_framework = %s::jsonb where id = %s", (json.dumps(values), org)
        )
    application, _ = await create_application(db, role, status=application_status)
    interview = await create_interview(db, application, status="completed")
    for turn in transcript:
        await db.execute(
            "insert into transcript_segments (interview_id, speaker, content, start_time_ms) values (%s, %s, %s, %s)",
            (interview, turn["speaker"], turn["content"], turn["start_time_ms"]),
        )
    return Interview(interview, application, org, role, recruiter)


async def score_rows(db, interview_id) -> tuple[list[dict], list[dict]]:
    scores = await db.fetch_all("select * from interview_scores where interview_id = %s", (interview_id,))
    dimensions = await db.fetch_all(
        "select * from score_dimensions where interview_id = %s order by dimension", (interview_id,)
    )
    return scores, dimensions
