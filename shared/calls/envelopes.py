"""ACS event envelopes: what Event Grid and CloudEvents deliver, read into one
`AcsEvent` with the SDKs' own models, and each event's typed data. No I/O.

A malformed event raises EventRejected: redelivering it cannot help."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from shared.calls.models import CallEventData, RecordingEventData
from shared.platform.errors import BadRequest

CALL_STARTED = "Microsoft.Communication.CallStarted"
CALL_ENDED = "Microsoft.Communication.CallEnded"
PARTICIPANT_ADDED = "Microsoft.Communication.CallParticipantAdded"
PARTICIPANT_REMOVED = "Microsoft.Communication.CallParticipantRemoved"
RECORDING_UPDATED = "Microsoft.Communication.RecordingFileStatusUpdated"
VALIDATION_EVENT = "Microsoft.EventGrid.SubscriptionValidationEvent"
CALL_EVENTS = frozenset({CALL_STARTED, CALL_ENDED, PARTICIPANT_ADDED, PARTICIPANT_REMOVED})

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
    return AcsEvent(event_id, kind, subject if isinstance(subject, str) else "", utc_time(time), data)


def event_from_trigger(event: Any) -> AcsEvent:
    """From the Event Grid trigger's `func.EventGridEvent`."""
    if not event.id or not event.event_type:
        raise EventRejected("Event id or type is missing")
    return AcsEvent(event.id, event.event_type, event.subject or "", utc_time(event.event_time), event.get_json())


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


def utc_time(value: Any) -> datetime | None:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    if not isinstance(value, datetime):
        return None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)


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
    if event.type == RECORDING_UPDATED and not server_call_id(event, data):
        raise EventRejected("RecordingFileStatusUpdated subject carries no serverCallId")
    return data


def server_call_id(event: AcsEvent, data: EventData) -> str | None:
    """Call events carry it in data; recording events only in the subject
    (`/recording/call/{callId}/serverCallId/{serverCallId}`)."""
    if isinstance(data, CallEventData):
        return data.serverCallId
    _, marker, rest = event.subject.partition("/serverCallId/")
    if not marker:
        return None
    return rest.split("/")[0] or None
