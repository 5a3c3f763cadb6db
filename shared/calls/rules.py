"""The call-event state rules, pure: which interview columns an event changes.

- States only move forward: invited < scheduled < in_progress < completed;
  cancelled and expired are final. A CallStarted after CallEnded changes nothing.
- The first call linked to an interview names it from then on (its ids are
  stored in the metadata, which is how later events find it).
- Participants and recording chunks are recorded in `interviews.metadata`,
  bounded, one entry per participant and per recording document.
- A recording no interview will keep (its interview was erased, or its
  recording deleted already) is an orphan: its chunks' blobs in our container
  are deleted (`orphaned_recording`, `orphan_blob_names`). A call that was
  never linked (a reconnect, a bot) keeps its recording for a person.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeGuard

from shared.calls import recording_metadata
from shared.calls.envelopes import (
    CALL_ENDED,
    CALL_STARTED,
    PARTICIPANT_ADDED,
    PARTICIPANT_REMOVED,
    RECORDING_UPDATED,
    AcsEvent,
    EventData,
    server_call_id,
    utc_time,
)
from shared.calls.models import CallEventData, RecordingEventData
from shared.platform.logs import log_event

STATUS_RANK = {"invited": 0, "scheduled": 1, "in_progress": 2, "completed": 3}
FINAL_STATUSES = frozenset({"cancelled", "expired"})
MAX_PARTICIPANTS = 50  # bounds what a call can write into interviews.metadata


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

    last = utc_time(metadata.get("lastEventAt"))
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
                server_call_id=server_call_id(event, data),
                start_time=data.recordingStartTime,
                duration_ms=data.recordingDurationMs,
                content_type=data.recordingContentType,
                format_type=data.recordingFormatType,
            )
        )
    recording_metadata.with_entries(metadata, new)
    return next((c.contentLocation for c in chunks if c.contentLocation), None)


def orphaned_recording(
    data: EventData, interview: dict[str, Any] | None, *, call_erased: bool = False
) -> TypeGuard[RecordingEventData]:
    """A recording event that no interview will keep: its call's interview was erased
    (`call_erased`: app.erased_calls knows the call), or the interview's recording is
    deleted already. ACS has written the chunks into our container all the same, and
    nothing else would ever delete them. A call no interview ever named (a reconnect,
    a bot's call) is not an orphan: it may be an interview's only recording."""
    if not isinstance(data, RecordingEventData):
        return False
    return call_erased if interview is None else interview["recording_deleted_at"] is not None


def orphan_blob_names(data: RecordingEventData, blob_name: Callable[[object], str | None]) -> tuple[list[str], int]:
    """The names of the chunks' blobs in our recordings container, by `blob_name` (the
    recordings store's strict check, the one retention uses), and how many of their
    locations point anywhere else: those are never deleted."""
    names, elsewhere = [], 0
    for chunk in data.recordingStorageInfo.recordingChunks:
        for url in (getattr(chunk, key) for key in recording_metadata.BLOB_KEYS):
            if not url:
                continue
            name = blob_name(url)
            if name is None:
                elsewhere += 1
            else:
                names.append(name)
    return list(dict.fromkeys(names)), elsewhere
