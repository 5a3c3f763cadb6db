"""The app under the local host with every upstream on the tests' wire doubles
(model, Supabase Auth/Storage, ACS identity, Speech, Resend, Azurite), its own
database, rate limits off, and rows seeded so that schemathesis's requests
reach the deep paths instead of 404."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass

import pytest

from shared.interviewer import competency_prompts as competencies
from shared.platform.config import DEV_JWT_SECRET, DEV_SERVICE_KEY
from shared.requirements import prompts as requirements
from shared.resumes import prompts as resume
from shared.scoring import prompts as scoring
from shared.shortlist import prompts as shortlist
from tests.ai import pdfs
from tests.ai.seed import add_profile, create_application, create_interview, create_org, create_role
from tests.conftest import ROOT
from tests.doubles.acs_identity_server import AcsIdentityDouble
from tests.doubles.openai_server import OpenAIDouble, ScriptedReply, tool_call_reply
from tests.doubles.resend_server import ResendDouble
from tests.doubles.speech_server import SpeechTokenDouble
from tests.doubles.supabase_server import SupabaseDouble
from tests.doubles.tokens import mint_hs256
from tests.resumes.test_parse_resume import PARSED
from tests.retention.seed import CONTAINER, recorded_interview
from tests.scoring.conftest import TRANSCRIPT, scoring_answer
from tests.support import create_user

AI_KEY = "sk-contract"
RESEND_KEY = "re_contract_key"
WEBHOOK_SECRET = "contract-webhook-secret-0123456789"
CV_BUCKET = "cvs"
EXTRACTED = {
    "skills": ["SQL"],
    "experience": ["3 years of analytics"],
    "qualifications": [],
    "responsibilities": ["Reports"],
    "interviewQuestions": ["How do you test a query?"],
}


def model_answers(body: dict) -> ScriptedReply:
    """A valid answer to every kind of call the app makes to the model."""
    if not body.get("tools"):
        return ScriptedReply(content="Thank you. Tell me about a project you are proud of.")
    name = body["tool_choice"]["function"]["name"]
    if name == scoring.TOOL_NAME:
        return scoring_answer(body)
    if name == shortlist.TOOL_NAME:
        ids = [c["applicationId"] for c in json.loads(body["messages"][1]["content"])["candidates"]]
        return tool_call_reply(
            name,
            {
                "rankings": [
                    {"applicationId": i, "matchScore": 90 - n, "matchReasons": ["Relevant experience"]}
                    for n, i in enumerate(ids)
                ]
            },
        )
    answers = {
        competencies.TOOL_NAME: {"detectedCompetencies": ["communication"]},
        requirements.TOOL_NAME: EXTRACTED,
        resume.TOOL_NAME: PARSED,
    }
    return tool_call_reply(name, answers[name])


@dataclass
class Seeded:
    """Rows the requests name: a caller who is an admin of an organisation with a role,
    an application, an interview with a transcript, an interview of their own (as a
    candidate), a CV in storage and a call known by its server call id."""

    user: uuid.UUID
    organisation: uuid.UUID
    role: uuid.UUID
    application: uuid.UUID
    scored_interview: uuid.UUID
    own_interview: uuid.UUID
    cv_path: str
    server_call_id: str


@pytest.fixture(scope="session")
def contract_doubles():
    from devhost.azurite import running_azurite

    # An Azurite of its own: the session's is shared with tests that create its containers.
    with (
        running_azurite(ROOT / ".local") as azurite,
        OpenAIDouble(api_key=AI_KEY, default_responder=model_answers) as model,
        SupabaseDouble(service_role_key="service-role-contract") as supabase,
        AcsIdentityDouble() as acs,
        SpeechTokenDouble() as speech,
        ResendDouble(api_key=RESEND_KEY) as resend,
    ):
        yield {"model": model, "supabase": supabase, "acs": acs, "speech": speech, "resend": resend, "azurite": azurite}


@pytest.fixture(scope="session")
def contract_database():
    """A database of its own: the run calls retention over every organisation."""
    from tests.conftest import fresh_database

    with fresh_database() as url:
        yield url


@pytest.fixture(scope="session")
async def seeded(contract_database, contract_doubles) -> Seeded:
    from azure.storage.blob.aio import BlobServiceClient

    from shared.platform.db import Database

    db = Database(contract_database, min_size=1, max_size=4)
    try:
        user = await create_user(db)
        org = await create_org(db, member=user, role="admin", name="Contract Co")
        role = await create_role(db, org, title="Data Engineer")
        application, candidate = await create_application(db, role, status="interviewing")
        await add_profile(db, candidate, skills=["SQL", "Python"])
        interview = await create_interview(db, application, status="completed")
        for turn in TRANSCRIPT:
            await db.execute(
                "insert into transcript_segments (interview_id, speaker, content, start_time_ms) "
                "values (%s, %s, %s, %s)",
                (interview, turn["speaker"], turn["content"], turn["start_time_ms"]),
            )
        own_application, _ = await create_application(db, role, candidate=user)
        own_interview = await create_interview(db, own_application, status="in_progress")
        server_call_id = f"contract-call-{uuid.uuid4().hex[:8]}"
        await db.execute(
            "update interviews set metadata = %s::jsonb where id = %s",
            (json.dumps({"serverCallId": server_call_id}), own_interview),
        )
        # Retention has something to do: a recording past its organisation's retention, a deletion request.
        async with BlobServiceClient.from_connection_string(contract_doubles["azurite"]) as blobs:
            await blobs.get_container_client(CONTAINER).create_container()
            await db.execute("update organisations set recording_retention_days = 30 where id = %s", (org,))
            await recorded_interview(db, blobs, org, role_id=role, ended_days_ago=45)
        await db.execute(
            "insert into data_deletion_requests (user_id, request_type) values (%s, 'recording_only')", (candidate,)
        )
        cv_path = f"{user}/resume.pdf"
        contract_doubles["supabase"].put_object(CV_BUCKET, cv_path, pdfs.cv_pdf())
        yield Seeded(user, org, role, application, interview, own_interview, cv_path, server_call_id)
    finally:
        await db.close()


@pytest.fixture(scope="session")
def contract_host(devhosts, contract_database, contract_doubles, seeded) -> str:
    d = contract_doubles
    return devhosts.start(
        {
            "DATABASE_URL": contract_database,
            "RATE_LIMIT_ENABLED": "false",
            "AI_BASE_URL": d["model"].url + "/v1",
            "AI_API_KEY": AI_KEY,
            "AI_MODEL": "gpt-contract",
            "AI_SCORING_MODEL": "gpt-contract-scoring",
            "AI_TIMEOUT_SECONDS": "10",
            "SCORE_WAIT_SECONDS": "10",
            "SCORE_RETRY_ATTEMPTS": "2",
            "SCORE_RETRY_INTERVAL_SECONDS": "0.05",
            "SUPABASE_URL": d["supabase"].url,
            "SUPABASE_SERVICE_ROLE_KEY": d["supabase"].service_role_key,
            "CV_BUCKET": CV_BUCKET,
            "ACS_CONNECTION_STRING": d["acs"].connection_string,
            "ACS_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "AZURE_SPEECH_KEY": d["speech"].subscription_key,
            "AZURE_SPEECH_REGION": d["speech"].region,
            "AZURE_SPEECH_TOKEN_ENDPOINT": d["speech"].token_url,
            "RESEND_API_KEY": RESEND_KEY,
            "RESEND_API_URL": d["resend"].url,
            "RECORDINGS_STORAGE_CONNECTION_STRING": d["azurite"],
            "AUTO_SCORE_ON_CALL_END": "false",
        }
    )


@pytest.fixture(scope="session")
def credentials(contract_doubles, seeded) -> dict[str, str]:
    token = mint_hs256(
        DEV_JWT_SECRET, str(seeded.user), supabase_url=contract_doubles["supabase"].url, exp=int(time.time()) + 6 * 3600
    )  # outlives the run
    return {"token": token, "service_key": DEV_SERVICE_KEY, "webhook_secret": WEBHOOK_SECRET}
