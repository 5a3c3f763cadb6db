"""Calls' use cases: ACS tokens, Speech tokens, and ACS call and recording events.

ACS tokens (API.md section 6): a user's ACS identity is created once, stored in
app.acs_identities, and reused; each request only issues a token for it.

Speech tokens (API.md section 8): the instance's cached token and its remaining life.

Events (API.md section 7), one handler behind both entry points, the Event
Grid trigger (`acs_events`, one event per invocation) and the webhook
`POST /api/acs/webhook` (batches):
- An event id is processed once: it is written to app.processed_events in the
  same transaction as the interview change, so a redelivery changes nothing.
- The change itself is rules.py's (pure); an event whose call matches no
  interview is acknowledged and logged.
- A recording no interview will keep (its interview erased or never linked, or
  its recording deleted already) has its blobs in our recordings container
  deleted before the event counts as handled, with an audit entry of counts.
- A malformed event raises EventRejected (redelivering it cannot help); any
  other failure (database down) propagates so that Event Grid redelivers.

How a call finds its interview (docs/CALLS.md): `metadata.serverCallId`, then
`metadata.correlationId`; failing both, a group call whose group id is the
interview id links itself, provided the call was started by the interview's
candidate or a member of its organisation (by their stored ACS identity).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from opentelemetry.trace import SpanKind

from shared.adapters.ports import AcsIdentities, Database, RecordingBlobs, SpeechTokenSource
from shared.calls import queries
from shared.calls.envelopes import (
    AcsEvent,
    EventData,
    EventRejected,
    event_from_envelope,
    event_from_trigger,
    parse_event_data,
    server_call_id,
    validation_code,
)
from shared.calls.models import AcsTokenResponse, AcsUser, CallEventData, RecordingEventData, SpeechTokenResponse
from shared.calls.rules import orphan_blob_names, orphaned_recording, plan_change
from shared.platform import audit, membership, telemetry
from shared.platform.auth import constant_time_equals
from shared.platform.errors import BadCredentials, Forbidden, NotConfigured, Unauthorized, UpstreamError
from shared.platform.logs import log_event
from shared.scoring.service import ScoringSettings, start_scoring

if TYPE_CHECKING:
    from shared.adapters.acs_identity import AcsToken
    from shared.platform.config import Settings
    from shared.platform.db import Conn

ScoringStarter = Callable[[UUID], Awaitable[None]]

DEFAULT_SCOPES = ("voip",)


async def issue_acs_token(
    db: Database, identity: AcsIdentities, user_id: UUID, scopes: list[str] | None
) -> AcsTokenResponse:
    from shared.adapters.acs_identity import IdentityNotFound

    scopes = list(scopes or DEFAULT_SCOPES)
    async with db.connection() as conn:
        await _require_a_reason(conn, user_id)
        communication_user_id = await queries.acs_identity_of(conn, user_id)
    if communication_user_id is not None:
        try:
            token = await identity.issue_token(communication_user_id, scopes)
            return _response(communication_user_id, token)
        except IdentityNotFound:  # deleted at ACS: replace it below
            log_event("acs_identity_gone", level=logging.WARNING, userId=user_id)
            async with db.connection() as conn:
                await queries.forget_acs_identity(conn, user_id, communication_user_id)
    communication_user_id, created_with = await _create_identity(db, identity, user_id, scopes)
    return _response(communication_user_id, created_with or await identity.issue_token(communication_user_id, scopes))


async def _create_identity(
    db: Database, identity: AcsIdentities, user_id: UUID, scopes: list[str]
) -> tuple[str, AcsToken | None]:
    """Under a per-user lock: of two simultaneous first requests only one creates an
    identity; the other waits and finds it (then gets a token of its own, outside)."""
    async with db.transaction() as conn:
        await queries.lock_acs_identity(conn, user_id)
        existing = await queries.acs_identity_of(conn, user_id)
        if existing is not None:
            return existing, None
        if not await queries.auth_user_exists(conn, user_id):
            raise Forbidden("Your user account does not exist")
        communication_user_id, token = await identity.create_user_with_token(scopes)
        await queries.store_acs_identity(conn, user_id, communication_user_id)
    log_event("acs_identity_created", userId=user_id)
    return communication_user_id, token


NO_REASON_FOR_TOKENS = (
    "Call and speech tokens are for an organisation's members, a candidate with an open interview, "
    "or a practice session in progress"
)


async def _require_a_reason(conn: Conn, user_id: UUID) -> None:
    if not await queries.has_reason_for_call_tokens(conn, user_id):
        raise Forbidden(NO_REASON_FOR_TOKENS)


def _response(communication_user_id: str, token: AcsToken) -> AcsTokenResponse:
    expires_on = token.expires_on.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return AcsTokenResponse(
        token=token.token, expiresOn=expires_on, user=AcsUser(communicationUserId=communication_user_id)
    )


# --- Speech tokens -------------------------------------------------------------------


async def speech_token(db: Database, tokens: SpeechTokenSource, user_id: UUID) -> SpeechTokenResponse:
    async with db.connection() as conn:
        await _require_a_reason(conn, user_id)
    token = await tokens.get()
    return SpeechTokenResponse(token=token.token, region=tokens.region, expiresIn=token.expires_in)


# --- call and recording events -----------------------------------------------------------


@dataclass
class Outcome:
    event_id: str
    event_type: str
    result: str  # applied, duplicate, unknown_interview, ignored
    interview_id: Any = None
    changed: list[str] = field(default_factory=list)
    scoring_started: bool = False
    orphan_blobs_deleted: int = 0  # blobs of a recording no interview keeps


@dataclass
class BatchResult:
    processed: int = 0
    failed: list[dict[str, Any]] = field(default_factory=list)
    retry: bool = False  # a temporary failure: answer so that Event Grid redelivers the batch


def webhook_secrets(settings: Settings) -> list[str]:
    """The accepted secrets: the current one and, during a rotation, the previous one."""
    if not settings.ACS_WEBHOOK_SECRET:
        raise NotConfigured("The ACS webhook is not configured: set ACS_WEBHOOK_SECRET")
    return [s for s in (settings.ACS_WEBHOOK_SECRET, settings.ACS_WEBHOOK_SECRET_PREVIOUS) if s]


def secret_matches(given: str | None, secrets: list[str]) -> bool:
    # Compare with every secret (no early exit), each in constant time.
    matches = [constant_time_equals(given, secret) for secret in secrets]
    return any(matches)


def refuse_secret(given: str | None) -> None:
    """The webhook's 401: a wrong secret is a guess (counted against the address), a missing one is not."""
    if given:
        raise BadCredentials("Wrong webhook secret")
    raise Unauthorized("Missing webhook secret (send it in the x-acs-webhook-secret header)")


class OrphanNotDeleted(UpstreamError):
    """Some blob of an orphaned recording could not be deleted: the event fails, to be redelivered."""


class CallEvents:
    """Applies ACS events to interviews. `start_scoring(interview_id)` is called after a
    CallEnded completed an interview, when auto-scoring is on. `recordings` is the
    recordings container (None: not configured), where orphaned recordings are deleted."""

    def __init__(
        self,
        db: Database,
        *,
        auto_score: bool,
        start_scoring: ScoringStarter | None = None,
        recordings: RecordingBlobs | None = None,
    ):
        self.db = db
        self.auto_score = auto_score
        self.start_scoring = start_scoring
        self.recordings = recordings

    async def handle_batch(self, raws: list[Any]) -> BatchResult:
        """Each event on its own: a bad one is reported, the others still count."""
        result = BatchResult()
        for raw in raws:
            event_id = raw.get("id") if isinstance(raw, dict) and isinstance(raw.get("id"), str) else None
            # CloudEvents' distributed-tracing extension: the producer's trace, linked from the event's span.
            traceparent = raw.get("traceparent") if isinstance(raw, dict) else None
            try:
                await self.handle(event_from_envelope(raw), traceparent if isinstance(traceparent, str) else None)
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

    async def handle(self, event: AcsEvent, traceparent: str | None = None) -> Outcome:
        """One event: a span of its own (a child of the trigger's invocation or the webhook's
        request, linked to the producer's trace when the event carries one) and one
        `talenti.events.processed` count by outcome."""
        with telemetry.tracer.start_as_current_span(
            f"acs.event {event.type}",
            kind=SpanKind.CONSUMER,
            links=telemetry.links_to(traceparent),
            attributes={
                "messaging.system": "eventgrid",
                "messaging.message.id": event.id,
                "talenti.event_type": event.type,
            },
        ) as span:
            outcome = await self._handle(event)
            span.set_attribute("talenti.event_outcome", outcome.result)
            if outcome.orphan_blobs_deleted:
                span.set_attribute("talenti.orphan_blobs_deleted", outcome.orphan_blobs_deleted)
        result = {"applied": "processed"}.get(outcome.result, outcome.result)
        telemetry.events_processed.add(1, {"event_type": event.type, "outcome": result})
        return outcome

    async def _handle(self, event: AcsEvent) -> Outcome:
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
                    serverCallId=server_call_id(event, data),
                    correlationId=getattr(data, "correlationId", None),
                )
                unknown = Outcome(event.id, event.type, "unknown_interview")
                if isinstance(data, RecordingEventData) and orphaned_recording(
                    data, None, call_erased=await queries.call_was_erased(conn, server_call_id(event, data))
                ):
                    unknown.orphan_blobs_deleted = await self._delete_orphan(conn, event, data, None)
                return unknown
            if not await queries.claim_event(conn, event.id, event.type, interview_id):
                log_event("acs_event_duplicate", eventId=event.id, eventType=event.type, interviewId=interview_id)
                return Outcome(event.id, event.type, "duplicate", interview_id)
            interview = await queries.interview_for_update(conn, interview_id)
            assert interview is not None  # found above, and the row is now locked
            columns, completed = plan_change(event, data, interview, now)
            orphan_blobs = 0
            if orphaned_recording(data, interview):
                orphan_blobs = await self._delete_orphan(conn, event, data, interview_id)
            await queries.update_interview_call(conn, interview_id, columns)
        outcome = Outcome(event.id, event.type, "applied", interview_id, sorted(columns))
        outcome.orphan_blobs_deleted = orphan_blobs
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

    async def _delete_orphan(
        self, conn: Conn, event: AcsEvent, data: RecordingEventData, interview_id: UUID | None
    ) -> int:
        """Delete the chunks' blobs in our recordings container (never anything outside it),
        in the event's transaction: a failure rolls the event back and raises, so Event Grid
        redelivers it (a blob already gone counts as deleted). The audit entry holds counts
        only: no call id, document id or blob name (they lead back to the call's people).
        Returns the number of blobs deleted."""
        why = "interview_erased" if interview_id is None else "recording_already_deleted"
        if self.recordings is None:
            log_event("acs_orphan_recording_kept", level=logging.WARNING, eventId=event.id, why=why)
            return 0
        names, elsewhere = orphan_blob_names(data, self.recordings.blob_name)
        if names:
            async with self.recordings.open() as session:
                failed = await session.delete(names)
            if failed:
                raise OrphanNotDeleted(f"{len(failed)} blobs of an orphaned recording could not be deleted")
            await audit.record(
                conn,
                action="recording.orphan_deleted",
                entity_type="interview" if interview_id is not None else "recording",
                entity_id=interview_id,
                organisation_id=await membership.interview_organisation(conn, interview_id) if interview_id else None,
                new_values={"why": why, "blobsDeleted": len(names), "locationsElsewhere": elsewhere},
            )
        log_event(
            "acs_recording_orphaned",
            level=logging.WARNING if elsewhere else logging.INFO,
            eventId=event.id,
            interviewId=interview_id,
            why=why,
            blobsDeleted=len(names),
            locationsElsewhere=elsewhere,
        )
        return len(names)

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
        call_id = server_call_id(event, data)
        correlation_id = getattr(data, "correlationId", None)
        interview_id = await queries.interview_id_for_call(conn, call_id, correlation_id)
        if interview_id is not None or not isinstance(data, CallEventData):
            return interview_id
        group_id = _as_uuid(data.group.id if data.group else None)
        if group_id and data.started_by and await queries.may_join_interview_call(conn, group_id, data.started_by):
            return group_id
        return None


async def handle_trigger_event(
    db: Database, settings: Settings, event: Any, durable_client: Any = None
) -> Outcome | None:
    """The Event Grid trigger's work. The host invokes it once per event; raising makes
    Event Grid redeliver, which is right for a database outage and useless for a
    malformed event, so only the latter is caught (and logged)."""
    try:
        return await call_events_for(db, settings, durable_client).handle(event_from_trigger(event))
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
    db: Database, settings: Settings, durable_client: Any, raws: list[Any], presented_secret: str | None
) -> WebhookReply:
    """The webhook's work after the body is read (the blueprint reads a large body
    only with the right secret). A validation event is answered before the secret
    check (docs/CALLS.md); then every event is handled."""
    secrets = webhook_secrets(settings)
    code = validation_code(raws)
    if code is not None:
        return WebhookReply(validation_code=code)
    if not secret_matches(presented_secret, secrets):
        refuse_secret(presented_secret)
    return WebhookReply(batch=await call_events_for(db, settings, durable_client).handle_batch(raws))


def call_events_for(db: Database, settings: Settings, durable_client: Any = None) -> CallEvents:
    """The handler as both entry points build it."""
    return CallEvents(
        db,
        auto_score=settings.AUTO_SCORE_ON_CALL_END,
        start_scoring=scoring_starter(durable_client, ScoringSettings.of(settings)),
        recordings=recordings_store(settings),
    )


def recordings_store(settings: Settings) -> RecordingBlobs | None:
    """The recordings container retention deletes from, from the settings both entry points
    hand over (a few parsed strings: the SDK loads only when a session opens); None when it
    is not configured, or configured so badly that no URL could be ours."""
    from shared.adapters.recordings import build_recordings

    try:
        return build_recordings(settings)
    except (NotConfigured, ValueError) as exc:
        if isinstance(exc, ValueError):
            log_event("recordings_misconfigured", level=logging.WARNING, error=str(exc)[:300])
        return None


def scoring_starter(durable_client: Any, settings: ScoringSettings) -> ScoringStarter | None:
    """Starts the interview's scoring orchestration with the function's Durable client."""
    if durable_client is None:
        return None

    async def start(interview_id: UUID) -> None:
        await start_scoring(durable_client, interview_id, settings)

    return start


def _as_uuid(value: str | None) -> UUID | None:
    try:
        return UUID(value) if value else None
    except ValueError:
        return None


async def purge_processed_events(db: Database) -> int:
    """Housekeeping (the retention timer runs it): forget event ids older than any redelivery,
    and erased calls older than any recording event of theirs."""
    async with db.connection() as conn:
        return await queries.purge_processed_events(conn) + await queries.purge_erased_calls(conn)
