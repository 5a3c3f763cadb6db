"""ACS call and recording events -> interview state (API.md section 7).

One service behind both entry points: the Event Grid trigger (`acs_events`,
one event per invocation) and the webhook `POST /api/acs/webhook` (batches).

Rules:
- An event id is processed once: it is written to app.processed_events in the
  same transaction as the interview change, so a redelivery changes nothing.
- States only move forward: invited < scheduled < in_progress < completed;
  cancelled and expired are final. A CallStarted after CallEnded changes nothing.
- An event whose call matches no interview is acknowledged and logged.
- A malformed event raises EventRejected (redelivering it cannot help); any
  other failure (database down) propagates so that Event Grid redelivers.

How a call finds its interview (docs/CALLS.md): `metadata.serverCallId`, then
`metadata.correlationId`; failing both, a group call whose group id is the
interview id links itself, provided the call was started by the interview's
candidate or a member of its organisation (by their stored ACS identity). The
first linked call's ids are then stored in the metadata, which is how later
events (recordings carry only the server call id) find it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from uuid import UUID

from pydantic import ValidationError

from shared.adapters.ports import Database
from shared.calls import event_queries as queries
from shared.calls import recording_metadata
from shared.calls.models import CallEventData, RecordingEventData
from shared.platform.auth import constant_time_equals
from shared.platform.errors import BadRequest, NotConfigured, Unauthorized
from shared.platform.logs import log_event
from shared.scoring.service import ScoringSettings, start_scoring

if TYPE_CHECKING:
    import azure.functions as func
    from azure.core.messaging import CloudEvent

    from shared.platform.config import Settings
    from shared.platform.db import Conn
    from shared.platform.wiring import Services

CALL_STARTED = "Microsoft.Communication.CallStarted"
CALL_ENDED = "Microsoft.Communication.CallEnded"
PARTICIPANT_ADDED = "Microsoft.Communication.CallParticipantAdded"
PARTICIPANT_REMOVED = "Microsoft.Communication.CallParticipantRemoved"
RECORDING_UPDATED = "Microsoft.Communication.RecordingFileStatusUpdated"
VALIDATION_EVENT = "Microsoft.EventGrid.SubscriptionValidationEvent"
CALL_EVENTS = frozenset({CALL_STARTED, CALL_ENDED, PARTICIPANT_ADDED, PARTICIPANT_REMOVED})

STATUS_RANK = {"invited": 0, "scheduled": 1, "in_progress": 2, "completed": 3}
FINAL_STATUSES = frozenset({"cancelled", "expired"})
MAX_PARTICIPANTS = 50  # bounds what a call can write into interviews.metadata

ScoringStarter = Callable[[UUID], Awaitable[None]]
EventData = CallEventData | RecordingEventData


class EventRejected(ValueError):
    """The event is malformed; redelivering it cannot help. The message is safe to return."""


@dataclass(frozen=True)
class AcsEvent:
    """One event, whichever envelope (Event Grid schema or CloudEvents) carried it."""

    id: str
    type: str
    subject: str
    time: datetime | None
    data: Any


@dataclass
class Outcome:
    event_id: str
    event_type: str
    result: str  # applied, duplicate, unknown_interview, ignored
    interview_id: Any = None
    changed: list[str] = field(default_factory=list)
    scoring_started: bool = False


@dataclass
class BatchResult:
    processed: int = 0
    failed: list[dict[str, Any]] = field(default_factory=list)
    retry: bool = False  # a temporary failure: answer so that Event Grid redelivers the batch


# --- envelopes ----------------------------------------------------------------------------


def event_from_envelope(raw: Any) -> AcsEvent:
    """Parse one event of a webhook body with azure-eventgrid's / azure-core's models."""
    if not isinstance(raw, dict):
        raise EventRejected("Each event must be a JSON object")
    event_id = raw.get("id")
    if not isinstance(event_id, str) or not event_id.strip() or len(event_id) > 200:
        raise EventRejected("Event id is missing or invalid")  # the SDKs would invent one
    try:
        if "specversion" in raw:
            from azure.core.messaging import CloudEvent

            cloud: CloudEvent[Any] = CloudEvent.from_dict(raw)
            kind, subject, time, data = cloud.type, cloud.subject, cloud.time, cloud.data
        else:
            from azure.eventgrid import EventGridEvent

            grid = EventGridEvent.from_dict(raw)
            kind, subject, time, data = grid.event_type, grid.subject, grid.event_time, grid.data
    except Exception:  # the SDKs raise ValueError, KeyError or DeserializationError
        raise EventRejected("Event is neither an Event Grid event nor a CloudEvent") from None
    if not isinstance(kind, str) or not kind:
        raise EventRejected("Event type is missing")
    return AcsEvent(event_id, kind, subject if isinstance(subject, str) else "", _utc(time), data)


def event_from_trigger(event: Any) -> AcsEvent:
    """From the Event Grid trigger's `func.EventGridEvent`."""
    if not event.id or not event.event_type:
        raise EventRejected("Event id or type is missing")
    return AcsEvent(event.id, event.event_type, event.subject or "", _utc(event.event_time), event.get_json())


def events_in(body: Any) -> list[Any]:
    """A webhook body: an array of events (Event Grid schema, CloudEvents batch) or one CloudEvent."""
    if isinstance(body, dict) and body:
        return [body]
    if isinstance(body, list) and body:
        return body
    raise BadRequest("Request body must be an event or a non-empty array of events")


def webhook_origin(value: str | None) -> str:
    """The sender named in a CloudEvents validation request (OPTIONS), echoed back to allow it."""
    value = (value or "").strip()
    if not value or len(value) > 255 or not value.isprintable():
        raise BadRequest("WebHook-Request-Origin header is required")
    return value


def webhook_secrets(settings: Settings) -> list[str]:
    """The accepted secrets: the current one and, during a rotation, the previous one."""
    if not settings.ACS_WEBHOOK_SECRET:
        raise NotConfigured("The ACS webhook is not configured: set ACS_WEBHOOK_SECRET")
    return [s for s in (settings.ACS_WEBHOOK_SECRET, settings.ACS_WEBHOOK_SECRET_PREVIOUS) if s]


def check_webhook_secret(given: str | None, secrets: list[str]) -> None:
    # Compare with every secret (no early exit), each in constant time.
    matches = [constant_time_equals(given, secret) for secret in secrets]
    if not any(matches):
        raise Unauthorized("Missing or wrong webhook secret")


def validation_code(raws: list[Any]) -> str | None:
    """The code of a subscription validation event in a webhook body, if it is one."""
    for raw in raws:
        if isinstance(raw, dict) and raw.get("eventType") == VALIDATION_EVENT:
            data = raw.get("data")
            code = data.get("validationCode") if isinstance(data, dict) else None
            if not isinstance(code, str) or not code:
                raise BadRequest("Validation event without a validationCode")
            return code
    return None


def _utc(value: Any) -> datetime | None:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    if not isinstance(value, datetime):
        return None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)


# --- the handler --------------------------------------------------------------------------


class CallEvents:
    """Applies ACS events to interviews. `start_scoring(interview_id)` is called after a
    CallEnded completed an interview, when auto-scoring is on."""

    def __init__(self, db: Database, *, auto_score: bool, start_scoring: ScoringStarter | None = None):
        self.db = db
        self.auto_score = auto_score
        self.start_scoring = start_scoring

    async def handle_batch(self, raws: list[Any]) -> BatchResult:
        """Each event on its own: a bad one is reported, the others still count."""
        result = BatchResult()
        for raw in raws:
            event_id = raw.get("id") if isinstance(raw, dict) and isinstance(raw.get("id"), str) else None
            try:
                await self.handle(event_from_envelope(raw))
                result.processed += 1
            except EventRejected as rejected:
                result.failed.append({"id": event_id, "error": str(rejected)})
            except Exception as error:  # temporary (database): redelivery will retry it
                log_event(
                    "acs_event_failed",
                    level=logging.ERROR,
                    eventId=event_id,
                    error=f"{type(error).__name__}: {error}"[:300],
                )
                result.failed.append({"id": event_id, "error": "Temporary failure; redeliver"})
                result.retry = True
        return result

    async def handle(self, event: AcsEvent) -> Outcome:
        data = parse_event_data(event)
        if data is None:
            log_event("acs_event_ignored", eventId=event.id, eventType=event.type)
            return Outcome(event.id, event.type, "ignored")
        now = datetime.now(UTC)
        async with self.db.transaction() as conn:
            interview_id = await self._find_interview(conn, event, data)
            if interview_id is None:
                log_event(
                    "acs_event_unknown_interview",
                    level=logging.WARNING,
                    eventId=event.id,
                    eventType=event.type,
                    serverCallId=_server_call_id(event, data),
                    correlationId=getattr(data, "correlationId", None),
                )
                return Outcome(event.id, event.type, "unknown_interview")
            if not await queries.claim_event(conn, event.id, event.type, interview_id):
                log_event("acs_event_duplicate", eventId=event.id, eventType=event.type, interviewId=interview_id)
                return Outcome(event.id, event.type, "duplicate", interview_id)
            interview = await queries.interview_for_update(conn, interview_id)
            assert interview is not None  # found above, and the row is now locked
            columns, completed = plan_change(event, data, interview, now)
            await queries.update_interview_call(conn, interview_id, columns)
        outcome = Outcome(event.id, event.type, "applied", interview_id, sorted(columns))
        if completed and self.auto_score:
            outcome.scoring_started = await self._start_scoring(interview_id)
        log_event(
            "acs_event_applied",
            eventId=event.id,
            eventType=event.type,
            interviewId=interview_id,
            changed=outcome.changed,
            scoringStarted=outcome.scoring_started,
        )
        return outcome

    async def _start_scoring(self, interview_id: UUID) -> bool:
        """Never fails the event: it is committed already; scoring can be started by hand."""
        if self.start_scoring is None:
            log_event("auto_score_unavailable", level=logging.WARNING, interviewId=interview_id)
            return False
        try:
            await self.start_scoring(interview_id)
            return True
        except Exception as error:
            log_event(
                "auto_score_failed",
                level=logging.ERROR,
                interviewId=interview_id,
                error=f"{type(error).__name__}: {error}"[:300],
            )
            return False

    async def _find_interview(self, conn: Conn, event: AcsEvent, data: EventData) -> UUID | None:
        server_call_id = _server_call_id(event, data)
        correlation_id = getattr(data, "correlationId", None)
        interview_id = await queries.interview_id_for_call(conn, server_call_id, correlation_id)
        if interview_id is not None or not isinstance(data, CallEventData):
            return interview_id
        group_id = _as_uuid(data.group.id if data.group else None)
        if group_id and data.started_by and await queries.may_join_interview_call(conn, group_id, data.started_by):
            return group_id
        return None


async def handle_trigger_event(
    services: Services, event: func.EventGridEvent, durable_client: Any = None
) -> Outcome | None:
    """The Event Grid trigger's work. The host invokes it once per event; raising makes
    Event Grid redeliver, which is right for a database outage and useless for a
    malformed event, so only the latter is caught (and logged)."""
    try:
        return await call_events_for(services, durable_client).handle(event_from_trigger(event))
    except EventRejected as rejected:
        log_event(
            "acs_event_rejected",
            level=logging.WARNING,
            eventId=getattr(event, "id", None),
            eventType=getattr(event, "event_type", None),
            error=str(rejected),
        )
        return None


@dataclass
class WebhookReply:
    """What the webhook answers: a subscription's validation code, or how the batch went."""

    validation_code: str | None = None
    batch: BatchResult = field(default_factory=BatchResult)


async def receive_webhook(
    services: Services, durable_client: Any, raws: list[Any], presented_secret: str | None
) -> WebhookReply:
    """The webhook's work after the body is read. A validation event is answered
    before the secret check (docs/CALLS.md); then every event is handled."""
    secrets = webhook_secrets(services.settings)
    code = validation_code(raws)
    if code is not None:
        return WebhookReply(validation_code=code)
    check_webhook_secret(presented_secret, secrets)
    return WebhookReply(batch=await call_events_for(services, durable_client).handle_batch(raws))


def call_events_for(services: Services, durable_client: Any = None) -> CallEvents:
    """The handler as both entry points build it."""
    return CallEvents(
        services.db,
        auto_score=services.settings.AUTO_SCORE_ON_CALL_END,
        start_scoring=scoring_starter(durable_client, ScoringSettings.of(services.settings)),
    )


def scoring_starter(durable_client: Any, settings: ScoringSettings) -> ScoringStarter | None:
    """Starts the interview's scoring orchestration with the function's Durable client."""
    if durable_client is None:
        return None

    async def start(interview_id: UUID) -> None:
        await start_scoring(durable_client, interview_id, settings)

    return start


# --- parsing event data -------------------------------------------------------------------


def parse_event_data(event: AcsEvent) -> EventData | None:
    """The typed data of an event we act on; None for types that are only logged."""
    if event.type in CALL_EVENTS:
        model: type[CallEventData] | type[RecordingEventData] = CallEventData
    elif event.type == RECORDING_UPDATED:
        model = RecordingEventData
    else:
        return None
    if not isinstance(event.data, dict):
        raise EventRejected(f"{event.type} data must be an object")
    try:
        data = model.model_validate(event.data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'data'}: {e['msg']}" for e in exc.errors()[:3])
        raise EventRejected(f"Invalid {event.type.rsplit('.', 1)[-1]} data: {problems}") from None
    if event.type == RECORDING_UPDATED and not _server_call_id(event, data):
        raise EventRejected("RecordingFileStatusUpdated subject carries no serverCallId")
    return data


def _server_call_id(event: AcsEvent, data: EventData) -> str | None:
    """Call events carry it in data; recording events only in the subject
    (`/recording/call/{callId}/serverCallId/{serverCallId}`)."""
    if isinstance(data, CallEventData):
        return data.serverCallId
    _, marker, rest = event.subject.partition("/serverCallId/")
    if not marker:
        return None
    return rest.split("/")[0] or None


def _as_uuid(value: str | None) -> UUID | None:
    try:
        return UUID(value) if value else None
    except ValueError:
        return None


# --- the state change (pure) --------------------------------------------------------------


def plan_change(
    event: AcsEvent, data: EventData, interview: dict[str, Any], now: datetime
) -> tuple[dict[str, Any], bool]:
    """The interview columns to write for this event, and whether it completed the interview."""
    at = event.time or now
    status = interview["status"]
    movable = status not in FINAL_STATUSES
    rank = STATUS_RANK.get(status, 0)
    original = interview["metadata"] if isinstance(interview["metadata"], dict) else {}
    metadata = dict(original)
    columns: dict[str, Any] = {}
    completed = False

    if isinstance(data, CallEventData):
        # The first call linked to the interview names it from now on.
        for key in ("serverCallId", "correlationId"):
            if getattr(data, key) and not metadata.get(key):
                metadata[key] = getattr(data, key)

    if event.type == CALL_STARTED and movable:
        if rank < STATUS_RANK["in_progress"]:
            columns["status"] = "in_progress"
        if interview["started_at"] is None:
            columns["started_at"] = at
    elif event.type == CALL_ENDED and movable and isinstance(data, CallEventData):
        if rank < STATUS_RANK["completed"]:
            columns["status"] = "completed"
            completed = True
        ended_at = interview["ended_at"] or at
        if interview["ended_at"] is None:
            columns["ended_at"] = ended_at
        started_at = interview["started_at"]
        duration = data.duration_seconds
        if duration is None and started_at is not None:
            duration = max(0.0, (ended_at - started_at).total_seconds())
        if interview["duration_seconds"] is None and duration is not None:
            columns["duration_seconds"] = round(duration)
        if started_at is None and duration is not None:
            columns["started_at"] = ended_at - timedelta(seconds=duration)
    elif event.type in (PARTICIPANT_ADDED, PARTICIPANT_REMOVED) and isinstance(data, CallEventData):
        _record_participant(metadata, event, data, at)
    elif event.type == RECORDING_UPDATED and isinstance(data, RecordingEventData):
        if interview["recording_deleted_at"] is not None:
            log_event(
                "acs_recording_after_deletion", level=logging.WARNING, eventId=event.id, interviewId=interview["id"]
            )
        else:
            first_location = _record_recording(metadata, event, data)
            if interview["recording_url"] is None and first_location:
                columns["recording_url"] = first_location

    last = _utc(metadata.get("lastEventAt"))
    if last is None or at > last:
        metadata["lastEventAt"] = at.isoformat()
    if metadata != original:
        columns["metadata"] = metadata
    return columns, completed


def _record_participant(metadata: dict[str, Any], event: AcsEvent, data: CallEventData, at: datetime) -> None:
    # Copies: changing the stored entries in place would hide the change from
    # plan_change's comparison with the original (a late join time was lost).
    participants = [dict(p) for p in metadata.get("participants") or [] if isinstance(p, dict)]
    key = data.participantId or data.participant
    if not key:
        return
    entry = next((p for p in participants if p.get("participantId") == key), None)
    if entry is None:
        if len(participants) >= MAX_PARTICIPANTS:
            log_event("acs_participants_capped", level=logging.WARNING, eventId=event.id)
            return
        entry = {"participantId": key, "rawId": data.participant, "displayName": data.displayName}
        participants.append(entry)
    if event.type == PARTICIPANT_ADDED:
        entry.setdefault("joinedAt", at.isoformat())
    else:
        entry["leftAt"] = at.isoformat()
    metadata["participants"] = participants


def _record_recording(metadata: dict[str, Any], event: AcsEvent, data: RecordingEventData) -> str | None:
    """Keep every chunk's locations (playback, and retention deletes them later),
    one entry per documentId. Returns the first chunk's content location."""
    known = recording_metadata.document_ids(metadata)
    chunks = sorted(data.recordingStorageInfo.recordingChunks, key=lambda c: (c.index is None, c.index or 0))
    new = []
    for chunk in chunks:
        if chunk.documentId in known:
            continue
        known.add(chunk.documentId)
        new.append(
            recording_metadata.new_entry(
                document_id=chunk.documentId,
                index=chunk.index,
                end_reason=chunk.endReason,
                content_location=chunk.contentLocation,
                metadata_location=chunk.metadataLocation,
                delete_location=chunk.deleteLocation,
                server_call_id=_server_call_id(event, data),
                start_time=data.recordingStartTime,
                duration_ms=data.recordingDurationMs,
                content_type=data.recordingContentType,
                format_type=data.recordingFormatType,
            )
        )
    recording_metadata.with_entries(metadata, new)
    return next((c.contentLocation for c in chunks if c.contentLocation), None)
