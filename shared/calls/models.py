"""Calls: ACS tokens, ACS event payloads, Speech tokens (API.md sections 6, 7, 8)."""

from typing import Any, ClassVar, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shared.platform.models import ApiModel
from shared.platform.operation import JSON, REQUEST_ID_HEADER, Document, OperationDocs

AcsScope = Literal["voip", "chat"]


class AcsTokenRequest(ApiModel):
    """`userId` (sent by the existing frontend) is ignored: the identity is always the caller's."""

    scopes: list[AcsScope] | None = Field(default=None, max_length=2)

    @field_validator("scopes")
    @classmethod
    def _distinct(cls, value: list[AcsScope] | None) -> list[AcsScope] | None:
        return list(dict.fromkeys(value)) if value else None


class AcsUser(ApiModel):
    communicationUserId: str


class AcsTokenResponse(ApiModel):
    token: str
    expiresOn: str
    user: AcsUser


class SpeechTokenResponse(ApiModel):
    token: str
    region: str
    expiresIn: int


class FailedEvent(ApiModel):
    id: str | None
    error: str


class WebhookResponse(ApiModel):
    success: bool
    processed: int
    failed: list[FailedEvent] | None = None


# --- ACS event data (the `data` of Microsoft.Communication.* events) ------------------------


class EventData(BaseModel):
    """Unknown fields are ignored: ACS adds fields between versions."""

    model_config = ConfigDict(extra="ignore", defer_build=True)


def participant_raw_id(participant: dict[str, Any] | None) -> str | None:
    """The communication identifier's raw id in either shape ACS has used: newer payloads
    wrap it in `communicationIdentifier`, older ones put `rawId`/`communicationUser` directly."""
    if not isinstance(participant, dict):
        return None
    identifier = participant.get("communicationIdentifier")
    if not isinstance(identifier, dict):
        identifier = participant
    raw = identifier.get("rawId")
    if not raw and isinstance(identifier.get("communicationUser"), dict):
        raw = identifier["communicationUser"].get("id")
    return raw if isinstance(raw, str) and raw else None


class CallGroup(EventData):
    id: str | None = Field(default=None, max_length=200)


class CallEventData(EventData):
    serverCallId: str | None = Field(default=None, max_length=2000)
    correlationId: str | None = Field(default=None, max_length=200)
    group: CallGroup | None = None
    room: CallGroup | None = None
    startedBy: dict[str, Any] | None = None
    # CallEnded: older payloads say durationOfCall, newer callDurationInSeconds.
    durationOfCall: float | None = Field(default=None, ge=0)
    callDurationInSeconds: float | None = Field(default=None, ge=0)
    # Participant events.
    user: dict[str, Any] | None = None
    displayName: str | None = Field(default=None, max_length=500)
    participantId: str | None = Field(default=None, max_length=500)

    @model_validator(mode="after")
    def _has_a_call_id(self) -> Self:
        if not (self.serverCallId or self.correlationId):
            raise ValueError("serverCallId or correlationId is required")
        return self

    @property
    def duration_seconds(self) -> float | None:
        return self.callDurationInSeconds if self.callDurationInSeconds is not None else self.durationOfCall

    @property
    def started_by(self) -> str | None:
        return participant_raw_id(self.startedBy)

    @property
    def participant(self) -> str | None:
        return participant_raw_id(self.user)


def _http_url(value: str | None) -> str | None:
    if value is not None and not value.lower().startswith(("https://", "http://")):
        raise ValueError("must be an http(s) URL")
    return value


class RecordingChunk(EventData):
    documentId: str = Field(min_length=1, max_length=500)
    index: int | None = None
    endReason: str | None = Field(default=None, max_length=200)
    contentLocation: str | None = Field(default=None, max_length=2048)
    metadataLocation: str | None = Field(default=None, max_length=2048)
    deleteLocation: str | None = Field(default=None, max_length=2048)

    _urls = field_validator("contentLocation", "metadataLocation", "deleteLocation")(_http_url)


class RecordingStorageInfo(EventData):
    recordingChunks: list[RecordingChunk] = Field(min_length=1, max_length=1000)


class RecordingEventData(EventData):
    recordingStorageInfo: RecordingStorageInfo
    recordingStartTime: str | None = Field(default=None, max_length=100)
    recordingDurationMs: int | None = None
    recordingContentType: str | None = Field(default=None, max_length=100)
    recordingChannelType: str | None = Field(default=None, max_length=100)
    recordingFormatType: str | None = Field(default=None, max_length=100)
    sessionEndReason: str | None = Field(default=None, max_length=200)


class WebhookDocs(OperationDocs):
    """The handshakes, the secret, and a body of Event Grid events or CloudEvents."""

    # The validation handshakes need no secret; events do (401 without it).
    security: ClassVar[list[dict[str, list[str]]] | None] = [
        {"acsWebhookSecret": []},
        {"acsWebhookSecretQuery": []},
        {},
    ]

    def parameters(self, method: str) -> list[dict[str, Any]]:
        if method == "OPTIONS":
            return [
                {
                    "name": "WebHook-Request-Origin",
                    "in": "header",
                    "required": True,
                    "description": "The sender of a CloudEvents abuse-protection handshake",
                    "schema": {
                        "type": "string",
                        "minLength": 1,
                        "maxLength": 255,
                        "pattern": r"^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$",
                    },
                }
            ]
        return []

    def request_body(self, document: Document) -> dict[str, Any] | None:
        shapes = (
            "An Event Grid event (`id`, `eventType`, `subject`, `eventTime`, `data`, `dataVersion`) or a "
            "CloudEvent (`id`, `type`, `source`, `specversion`, `data`); a validation event "
            "(Microsoft.EventGrid.SubscriptionValidationEvent) is answered with its code. An item that "
            "is not a readable event is reported in `failed`; the others are processed."
        )
        schema = {
            "anyOf": [
                {"type": "array", "minItems": 1, "description": "A batch of events. " + shapes},
                {"type": "object", "minProperties": 1, "description": "One CloudEvent. " + shapes},
            ]
        }
        example = [
            {
                "id": "1",
                "eventType": "Microsoft.EventGrid.SubscriptionValidationEvent",
                "subject": "",
                "eventTime": "2026-01-01T00:00:00Z",
                "dataVersion": "1",
                "data": {"validationCode": "512d38b6-c7b8-40c8-89fe-f46f9e9622b6"},
            }
        ]
        return {"required": True, "content": {JSON: {"schema": schema, "example": example}}}

    def statuses(self, method: str, statuses: set[int]) -> set[int]:
        if method == "OPTIONS":
            return {400, 500, 503}
        return statuses | {401}

    def responses(self, document: Document, method: str) -> dict[str, Any]:
        if method == "OPTIONS":
            allowed = {"description": "The echoed origin", "required": True, "schema": {"type": "string"}}
            return {
                "200": {
                    "description": "The CloudEvents handshake: the sender is allowed",
                    "headers": {
                        **REQUEST_ID_HEADER,
                        "WebHook-Allowed-Origin": allowed,
                        "WebHook-Allowed-Rate": {"required": True, "schema": {"type": "string"}},
                    },
                }
            }
        validation = {
            "type": "object",
            "required": ["validationResponse"],
            "properties": {"validationResponse": {"type": "string"}},
        }
        return {
            "200": {
                "description": "Events processed, or the Event Grid validation handshake answered",
                "headers": dict(REQUEST_ID_HEADER),
                "content": {JSON: {"schema": {"anyOf": [document.ref(WebhookResponse), validation]}}},
            }
        }
