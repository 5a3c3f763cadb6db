"""Fixtures for calls: the ACS identity, Speech and Durable doubles, interviews to
attach calls to, and ACS event payloads in the shapes ACS sends."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from tests.calls.durable_double import DurableDouble
from tests.doubles.acs_identity_server import AcsIdentityDouble
from tests.doubles.speech_server import SpeechTokenDouble
from tests.support import create_user

WEBHOOK_SECRET = "webhook-secret-current-0123456789"
PREVIOUS_SECRET = "webhook-secret-previous-9876543210"


@pytest.fixture(scope="session")
def acs_double():
    with AcsIdentityDouble() as double:
        yield double


@pytest.fixture
async def acs(acs_double):
    """The adapter on the real SDK, pointed at the double (no retries: failures surface at once)."""
    from shared.adapters.acs_identity import AcsIdentity

    acs_double.reset()
    adapter = AcsIdentity.with_key(acs_double.url, acs_double.access_key, retry_total=0)
    yield adapter
    await adapter.close()


@pytest.fixture(scope="session")
def speech_double():
    with SpeechTokenDouble() as double:
        yield double


@pytest.fixture
async def speech(speech_double):
    from shared.adapters.speech_tokens import SpeechTokens

    speech_double.reset()
    adapter = SpeechTokens(speech_double.subscription_key, speech_double.region, token_url=speech_double.token_url)
    yield adapter
    await adapter.close()


@pytest.fixture(scope="session")
def durable_double():
    with DurableDouble() as double:
        yield double


@pytest.fixture
def durable(durable_double):
    durable_double.reset()
    yield durable_double


@pytest.fixture(scope="session", autouse=True)
async def _close_durable_session():
    yield
    from azure.durable_functions.models.utils import http_utils

    await http_utils._close_session()


@pytest.fixture
def call_settings(services, monkeypatch):
    """The process-wide settings with the webhook secrets set (restored afterwards)."""
    settings = services.settings
    monkeypatch.setattr(settings, "ACS_WEBHOOK_SECRET", WEBHOOK_SECRET)
    monkeypatch.setattr(settings, "ACS_WEBHOOK_SECRET_PREVIOUS", PREVIOUS_SECRET)
    monkeypatch.setattr(settings, "AUTO_SCORE_ON_CALL_END", True)
    return settings


_seeded_users: list = []
_seeded_organisations: list = []


@pytest.fixture(scope="package", autouse=True)
async def _remove_seeded_interviews(db):
    """Other packages' tests count the rows of shared tables: leave none behind."""
    yield
    if _seeded_users:
        await db.execute("delete from auth.users where id = any(%s)", (_seeded_users,))  # cascades to interviews
        await db.execute("delete from organisations where id = any(%s)", (_seeded_organisations,))


@dataclass
class Seeded:
    interview_id: uuid.UUID
    candidate_id: uuid.UUID
    recruiter_id: uuid.UUID
    organisation_id: uuid.UUID


async def seed_interview(db, *, status: str = "invited", metadata: dict | None = None, **columns) -> Seeded:
    """An organisation with a recruiter, a role, a candidate's application and its interview."""
    candidate = await create_user(db)
    recruiter = await create_user(db)
    org = await db.fetch_one("insert into organisations (name) values ('Calls Co') returning id")
    await db.execute(
        "insert into org_users (organisation_id, user_id, role) values (%s, %s, 'recruiter')", (org["id"], recruiter)
    )
    role = await db.fetch_one(
        "insert into job_roles (organisation_id, title) values (%s, 'Engineer') returning id", (org["id"],)
    )
    application = await db.fetch_one(
        "insert into applications (job_role_id, candidate_id) values (%s, %s) returning id", (role["id"], candidate)
    )
    names = ["application_id", "status", "metadata", *columns]
    values = [application["id"], status, json.dumps(metadata) if metadata is not None else None, *columns.values()]
    placeholders = ", ".join(["%s", "%s::interview_status", "%s::jsonb"] + ["%s"] * len(columns))
    interview = await db.fetch_one(
        f"insert into interviews ({', '.join(names)}) values ({placeholders}) returning id", values
    )
    _seeded_users.extend((candidate, recruiter))
    _seeded_organisations.append(org["id"])
    return Seeded(interview["id"], candidate, recruiter, org["id"])


async def interview_row(db, interview_id) -> dict:
    return await db.fetch_one(
        "select status::text as status, started_at, ended_at, duration_seconds, recording_url, "
        "recording_deleted_at, metadata, updated_at from interviews where id = %s",
        (interview_id,),
    )


async def link_acs_identity(db, user_id, communication_user_id: str | None = None) -> str:
    communication_user_id = communication_user_id or f"8:acs:test_{uuid.uuid4()}"
    await db.execute(
        "insert into app.acs_identities (user_id, communication_user_id) values (%s, %s)",
        (user_id, communication_user_id),
    )
    return communication_user_id


# --- ACS event payloads ---------------------------------------------------------------------


def new_call() -> dict:
    return {
        "serverCallId": "aHR0cHM6Ly9jb252LXVzd2UtMDEuY29udi5za3lwZS5jb20vY29udi8" + uuid.uuid4().hex,
        "correlationId": str(uuid.uuid4()),
    }


def participant(raw_id: str, *, wrapped: bool = True, role: str = "Attendee") -> dict:
    """Newer payloads wrap the identifier in communicationIdentifier; older ones do not."""
    identifier = {"rawId": raw_id, "communicationUser": {"id": raw_id}}
    return {"communicationIdentifier": identifier, "role": role} if wrapped else identifier


def call_data(call: dict, *, group_id=None, started_by: str | None = None, wrapped: bool = True, **extra) -> dict:
    data = {
        "serverCallId": call.get("serverCallId"),
        "correlationId": call.get("correlationId"),
        "isTwoParty": False,
        "isRoomsCall": False,
        "startedBy": participant(started_by or "8:acs:someone_" + uuid.uuid4().hex, wrapped=wrapped),
        **extra,
    }
    if group_id is not None:
        data["group"] = {"id": str(group_id)}
    return data


def recording_data(chunks: list[dict], **extra) -> dict:
    return {
        "recordingStorageInfo": {"recordingChunks": chunks},
        "recordingStartTime": "2026-11-20T09:00:00Z",
        "recordingDurationMs": 1_800_000,
        "recordingContentType": "Audio",
        "recordingChannelType": "Mixed",
        "recordingFormatType": "Wav",
        "sessionEndReason": "CallEnded",
        **extra,
    }


def chunk(index: int = 0, document_id: str | None = None) -> dict:
    document_id = document_id or f"0-eus-d{index}-{uuid.uuid4().hex[:12]}"
    base = f"https://us-storage.asm.skype.com/v1/objects/{document_id}"
    return {
        "documentId": document_id,
        "index": index,
        "endReason": "SessionEnded",
        "contentLocation": f"{base}/content/acsmetadata",
        "metadataLocation": f"{base}/content/acsmetadata",
        "deleteLocation": base,
    }


def recording_subject(server_call_id: str) -> str:
    return f"/recording/call/{uuid.uuid4()}/serverCallId/{server_call_id}"


def grid_event(
    event_type: str, data: dict, *, event_id: str | None = None, subject: str | None = None, at: datetime | None = None
) -> dict:
    """Event Grid schema, as the system topic delivers it."""
    return {
        "id": event_id or str(uuid.uuid4()),
        "topic": "/subscriptions/x/resourceGroups/rg/providers/Microsoft.Communication/communicationServices/acs-test",
        "subject": subject or f"call/{data.get('serverCallId', 'x')}/startedBy/8:acs:x",
        "data": data,
        "eventType": f"Microsoft.Communication.{event_type}",
        "dataVersion": "1.0",
        "metadataVersion": "1",
        "eventTime": (at or datetime.now(UTC)).isoformat(),
    }


def cloud_event(
    event_type: str, data: dict, *, event_id: str | None = None, subject: str | None = None, at: datetime | None = None
) -> dict:
    """CloudEvents 1.0 schema."""
    return {
        "id": event_id or str(uuid.uuid4()),
        "source": "/subscriptions/x/resourceGroups/rg/providers/Microsoft.Communication/communicationServices/acs-test",
        "specversion": "1.0",
        "type": f"Microsoft.Communication.{event_type}",
        "subject": subject or f"call/{data.get('serverCallId', 'x')}",
        "data": data,
        "time": (at or datetime.now(UTC)).isoformat(),
        "datacontenttype": "application/json",
    }


def validation_event(code: str = "512d38b6-c7b8-40c8-89fe-f46f9e9622b6") -> dict:
    return {
        "id": str(uuid.uuid4()),
        "topic": "/subscriptions/x",
        "subject": "",
        "dataVersion": "2",
        "eventType": "Microsoft.EventGrid.SubscriptionValidationEvent",
        "eventTime": "2026-11-20T09:00:00Z",
        "data": {
            "validationCode": code,
            "validationUrl": "https://rp-eastus2.eventgrid.azure.net:553/eventsubscriptions/x/validate?id=1",
        },
    }
