"""POST /api/admin/data-cleanup and the retention timer (was data-retention-cleanup)."""

from typing import TYPE_CHECKING, Any

import azure.functions as func

from shared.platform.auth import SERVICE_CALLER
from shared.platform.buckets import Bucket
from shared.platform.http import USER_OR_SERVICE, Call, api
from shared.platform.wiring import Services, get_services
from shared.retention.models import (
    CleanupRecordingsResponse,
    DataCleanupRequest,
    DataCleanupResponse,
    ProcessDeletionRequestsResponse,
)

if TYPE_CHECKING:
    from shared.retention.service import Storage

bp = func.Blueprint()


def storage(services: Services, task_hub: Any) -> "Storage":
    """Retention does without what is not configured (a step that needs it reports why).
    `task_hub` is the function's Durable client: erasure purges scoring history."""
    from shared.retention.service import Storage

    return Storage(
        recordings=services.optional("recordings"),
        auth_admin=services.optional("supabase_admin"),
        cv_storage=services.optional("cv_storage"),
        task_hub=task_hub,
        acs_identity=services.optional("acs_identity"),
    )


@api(
    bp,
    "admin/data-cleanup",
    auth=USER_OR_SERVICE,
    body=DataCleanupRequest,
    response=DataCleanupResponse,
    rate_limit=Bucket.DATA_CLEANUP,
    durable_client=True,
    former="data-retention-cleanup",
    errors=(404,),
)
async def data_cleanup(call: Call) -> CleanupRecordingsResponse | ProcessDeletionRequestsResponse:
    """Delete recordings past retention, or process data deletion requests (service key, or an org admin for their organisation)."""
    from shared.retention.service import authorise, run_action

    request = call.body
    await authorise(call.services.db, call.principal, request.organisationId)
    return await run_action(
        call.services.db,
        storage(call.services, call.durable_client),
        call.principal,
        request.action,
        organisation_id=request.organisationId,
        dry_run=request.dryRun,
    )


@bp.timer_trigger(schedule="%RETENTION_SCHEDULE%", arg_name="timer", run_on_startup=False, use_monitor=True)
@bp.durable_client_input(client_name="client")
async def retention_timer(timer: func.TimerRequest, client: str) -> None:
    """Both retention actions for every organisation, as the service (daily by default),
    then the housekeeping of the features that keep short-lived rows."""
    from shared.calls.service import purge_processed_events
    from shared.platform.decision_log import purge_older_than
    from shared.retention.service import run_scheduled

    services = get_services()
    housekeeping = {
        "purge_rate_limits": services.rate_limiter.purge_expired,
        "purge_processed_events": lambda: purge_processed_events(services.db),
        "purge_ai_decisions": lambda: purge_older_than(services.db, services.settings.AI_DECISION_LOG_RETENTION_DAYS),
    }
    await run_scheduled(services.db, storage(services, client), SERVICE_CALLER, housekeeping)
