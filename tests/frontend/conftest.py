"""The frontend's view of the app: the local host with every upstream service on its
wire-level double, the rows a recruiter and a candidate need, and tokens signed the
way current Supabase projects sign them (ES256, served in the JWKS)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from shared.interviewer import competency_prompts as competency_prompt
from shared.platform.config import DEV_JWT_SECRET
from shared.requirements import prompts as requirements_prompt
from shared.resumes import prompts as resume_prompt
from shared.scoring import prompts as scoring_prompt
from shared.shortlist import prompts as shortlist_prompt
from tests.ai import pdfs
from tests.ai.fixtures import API_KEY, CV_BUCKET, MODEL, SCORING_MODEL
from tests.ai.seed import add_profile, create_application, create_interview, create_org, create_role
from tests.calls.conftest import acs_double, speech_double  # noqa: F401 (fixtures)
from tests.doubles.openai_server import ScriptedReply, tool_call_reply
from tests.doubles.resend_server import ResendDouble
from tests.doubles.supabase_server import SupabaseDouble
from tests.doubles.tokens import KeyPair
from tests.resumes.test_parse_resume import PARSED
from tests.scoring.conftest import scoring_answer
from tests.scoring.conftest import seed_interview as seed_scored_interview
from tests.support import create_user

ALLOWED_ORIGIN = "http://localhost:5173"
RESEND_KEY = "re_frontend_key"
SERVICE_ROLE_KEY = "service-role-frontend"
INTERVIEWER_REPLY = "Welcome! To start, tell me about a product you shipped recently."
EXTRACTED = {
    "skills": ["SQL", "Python"],
    "experience": ["3+ years of analytics"],
    "qualifications": [],
    "responsibilities": ["Weekly reports"],
    "interviewQuestions": ["How do you test a query?"],
}


def legacy_anon_key() -> str:
    """A legacy Supabase anon key: a JWT with role anon and no user (supabase-js sends
    it as the bearer token when nobody is signed in)."""
    return jwt.encode(
        {"iss": "supabase", "role": "anon", "iat": 1_700_000_000, "exp": 2_000_000_000},
        DEV_JWT_SECRET,
        algorithm="HS256",
    )


@pytest.fixture(scope="package")
def signing_key() -> KeyPair:
    return KeyPair("ES256")


@pytest.fixture(scope="package")
def supabase(signing_key):
    """Supabase Auth (JWKS, /auth/v1/user for supabase-js's setSession) and Storage."""
    with SupabaseDouble(
        service_role_key=SERVICE_ROLE_KEY, anon_key=legacy_anon_key(), jwks_keys=[signing_key.jwk()]
    ) as double:
        yield double


@pytest.fixture(scope="package")
def resend():
    with ResendDouble(api_key=RESEND_KEY) as double:
        yield double


@pytest.fixture(scope="package")
def browser_origins() -> dict[str, str]:
    """Where the browser tests serve a stand-in of the frontend: one origin the app
    allows, one it does not (both on loopback, like a developer's Vite server)."""
    from devhost.launch import free_port

    return {"allowed": f"http://127.0.0.1:{free_port()}", "refused": f"http://127.0.0.1:{free_port()}"}


@pytest.fixture(scope="package")
def app_url(devhosts, openai_double, supabase, acs_double, speech_double, resend, browser_origins):  # noqa: F811
    return devhosts.start(
        {
            "AI_BASE_URL": openai_double.url + "/v1",
            "AI_API_KEY": API_KEY,
            "AI_MODEL": MODEL,
            "AI_SCORING_MODEL": SCORING_MODEL,
            "AI_TIMEOUT_SECONDS": "5",
            "SUPABASE_URL": supabase.url,
            "SUPABASE_SERVICE_ROLE_KEY": SERVICE_ROLE_KEY,
            "CV_BUCKET": CV_BUCKET,
            "ACS_CONNECTION_STRING": acs_double.connection_string,
            "AZURE_SPEECH_KEY": speech_double.subscription_key,
            "AZURE_SPEECH_REGION": speech_double.region,
            "AZURE_SPEECH_TOKEN_ENDPOINT": speech_double.token_url,
            "RESEND_API_KEY": RESEND_KEY,
            "RESEND_API_URL": resend.url,
            "SCORE_WAIT_SECONDS": "20",
            "SCORE_RETRY_ATTEMPTS": "2",
            "SCORE_RETRY_INTERVAL_SECONDS": "0.05",
            "CORS_ALLOWED_ORIGINS": f"{ALLOWED_ORIGIN},{browser_origins['allowed']}",
            # As behind Azure's front end: the client address is the last X-Forwarded-For hop.
            "TRUSTED_PROXY_HOPS": "1",
        }
    )


def model_responder(application_id: uuid.UUID):
    """The model double answers each kind of request the way a model would."""

    def responder(body: dict):
        if not body.get("tools"):
            return ScriptedReply(content=INTERVIEWER_REPLY)
        name = body["tool_choice"]["function"]["name"]
        if name == competency_prompt.TOOL_NAME:
            return tool_call_reply(name, {"detectedCompetencies": ["communication"]})
        if name == requirements_prompt.TOOL_NAME:
            return tool_call_reply(name, EXTRACTED)
        if name == resume_prompt.TOOL_NAME:
            return tool_call_reply(name, PARSED)
        if name == shortlist_prompt.TOOL_NAME:
            # 55 lies within SCORE_BAND of this candidate's rule score (42), so it is the model's figure
            # the frontend reads; a score outside the band is clamped (tests/shortlist cover that).
            return tool_call_reply(
                name,
                {
                    "rankings": [
                        {"applicationId": str(application_id), "matchScore": 55, "matchReasons": ["Ships React apps"]}
                    ]
                },
            )
        if name == scoring_prompt.TOOL_NAME:
            return scoring_answer(body)
        return None  # the double answers 500: a request this test did not expect

    return responder


@dataclass
class World:
    """Who and what the frontend's calls refer to; `fixture()` is what the Node tests read."""

    app_url: str
    supabase_url: str
    anon_key: str
    users: dict[str, uuid.UUID]
    tokens: dict[str, str]
    ids: dict[str, str]
    browser_origins: dict[str, str]
    organisations: list[uuid.UUID] = field(default_factory=list)

    def fixture(self, **extra) -> dict:
        return {
            "appUrl": self.app_url,
            "supabaseUrl": self.supabase_url,
            "anonKey": self.anon_key,
            "allowedOrigin": ALLOWED_ORIGIN,
            "browserOrigins": self.browser_origins,
            "tokens": self.tokens,
            "ids": self.ids,
            "users": {k: str(v) for k, v in self.users.items()},
            **extra,
        }


@pytest.fixture(scope="package")
async def world(db, app_url, supabase, signing_key, openai_double, browser_origins):
    users = {name: await create_user(db) for name in ("recruiter", "outsider", "limited", "creator")}
    org = await create_org(db, users["recruiter"], role="recruiter", name="Frontend Co")
    role = await create_role(db, org, title="Senior Frontend Engineer")
    application, candidate = await create_application(db, role, status="interviewing")
    users["candidate"] = candidate
    await add_profile(db, candidate, skills=["React", "TypeScript"])
    # Invitations go to the candidate's confirmed sign-in address (the body's candidateEmail
    # is ignored): the frontend sends the same one, as it reads it from this profile.
    for table, column in (("candidate_profiles", "user_id"), ("auth.users", "id")):
        await db.execute(
            f"update {table} set email = 'jordan.candidate@example.test' where {column} = %s",
            (candidate,),
        )
    live = await create_interview(
        db, application, status="in_progress", started_at=datetime.now(UTC) - timedelta(minutes=2)
    )
    scored = await seed_scored_interview(db)
    users["scorer"] = scored.recruiter
    supabase.put_object(CV_BUCKET, f"{candidate}/resume.pdf", pdfs.cv_pdf(), "application/pdf")
    for user in users.values():
        supabase.add_user(str(user))  # supabase-js's setSession asks Auth for the user
    tokens = {name: signing_key.mint(str(user), supabase_url=supabase.url) for name, user in users.items()}
    tokens["expired"] = signing_key.mint(
        str(users["recruiter"]), supabase_url=supabase.url, iat=1_700_000_000, exp=1_700_003_600
    )
    openai_double.reset()
    openai_double.default_responder = model_responder(application)
    world = World(
        app_url=app_url,
        supabase_url=supabase.url,
        anon_key=supabase.anon_key,
        users=users,
        tokens=tokens,
        browser_origins=browser_origins,
        organisations=[org, scored.organisation_id],
        ids={
            "organisation": str(org),
            "role": str(role),
            "application": str(application),
            "liveInterview": str(live),
            "scoredInterview": str(scored.id),
        },
    )
    yield world
    openai_double.default_responder = None
    openai_double.reset()
    # Other packages count rows of shared tables: leave none behind.
    created = await db.fetch_all(
        "select organisation_id from org_users where user_id = any(%s)", (list(users.values()),)
    )
    organisations = list({*world.organisations, *(row["organisation_id"] for row in created)})
    await db.execute("delete from auth.users where id = any(%s)", (list(users.values()),))
    await db.execute("delete from organisations where id = any(%s)", (organisations,))
