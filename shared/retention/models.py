"""POST /api/admin/data-cleanup (API.md section 11): the request and its two answers."""

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import ConfigDict, RootModel

from shared.platform.models import ApiModel, null_means

CLEANUP_RECORDINGS = "cleanup_recordings"
PROCESS_DELETION_REQUESTS = "process_deletion_requests"


def _organisation_named(schema: dict[str, Any]) -> None:
    # Only the service key may leave organisationId out (then every organisation is
    # processed); a user must name theirs, so the document shows it as required.
    schema["required"] = ["action", "organisationId"]
    schema["properties"]["organisationId"] = {
        "type": "string",
        "format": "uuid",
        "title": "Organisationid",
        "description": "Required for a user (an admin of that organisation); the service key may leave it "
        "out to process every organisation",
    }


class DataCleanupRequest(ApiModel):
    model_config = ConfigDict(json_schema_extra=_organisation_named)

    action: Literal["cleanup_recordings", "process_deletion_requests"]
    organisationId: UUID | None = None
    dryRun: Annotated[bool, null_means(False)] = False


class OrganisationResult(ApiModel):
    organisation: str
    retentionDays: int
    interviewsProcessed: int
    # Interviews past retention whose recording is (also) outside our recordings
    # storage: not deleted, not marked deleted, reported on every run (docs/RETENTION.md).
    unmanagedRecordings: int = 0


class CleanupRecordingsResponse(ApiModel):
    success: bool = True
    totalDeleted: int
    organisationResults: list[OrganisationResult]
    processedAt: datetime


class DeletionRequestResult(ApiModel):
    requestId: UUID
    status: str


class ProcessDeletionRequestsResponse(ApiModel):
    success: bool = True
    requestsProcessed: int
    results: list[DeletionRequestResult]
    processedAt: datetime


class DataCleanupResponse(RootModel[CleanupRecordingsResponse | ProcessDeletionRequestsResponse]):
    """One of the two answers, by action (the OpenAPI document shows both)."""
