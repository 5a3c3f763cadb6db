"""POST /api/ai/score and GET /api/ai/score/{interviewId} (was score-interview).

The orchestration they start lives in shared/scoring/orchestration.py."""

import uuid
from typing import Any

import azure.functions as func

from shared.platform.errors import NotFound
from shared.platform.http import USER_OR_SERVICE, Call, api, json_response
from shared.platform.rate_limit import Bucket
from shared.scoring.models import ScoreRequest, ScoreResponse, ScoringAccepted
from shared.scoring.service import ScoringOutcome, ScoringSettings, request_scoring, scoring_status

bp = func.Blueprint()


@api(
    bp,
    "ai/score",
    auth=USER_OR_SERVICE,
    body=ScoreRequest,
    response=ScoreResponse,
    rate_limit=Bucket.AI_SCORE,
    durable_client=True,
    former="score-interview",
)
async def score_interview(call: Call) -> Any:
    """Score an interview against its rubric: 200 with the scores, or 202 while it runs."""
    outcome = await request_scoring(
        call.services.db, call.durable_client, ScoringSettings.of(call.services.settings), call.principal, call.body
    )
    return answer(call, call.body.interviewId, outcome)


@api(
    bp,
    "ai/score/{interviewId}",
    methods=("GET",),
    auth=USER_OR_SERVICE,
    response=ScoreResponse,
    rate_limit=Bucket.AI_SCORE_STATUS,
    durable_client=True,
)
async def score_interview_status(call: Call) -> Any:
    """Poll a scoring run: 200 with the scores, 202 while it runs."""
    try:
        interview_id = uuid.UUID(str(call.request.path_params.get("interviewId")))
    except ValueError:
        raise NotFound("Interview not found") from None
    outcome = await scoring_status(call.services.db, call.durable_client, call.principal, interview_id)
    return answer(call, interview_id, outcome)


def answer(call: Call, interview_id: object, outcome: ScoringOutcome) -> Any:
    """200 with the result, or 202 pointing at the status route (never Durable's keyed URLs)."""
    if outcome.result is not None:
        return outcome.result
    status_url = f"{str(call.request.base_url).rstrip('/')}/api/ai/score/{interview_id}"
    accepted = ScoringAccepted(
        id=outcome.instance_id,
        statusQueryGetUri=status_url,
        runtimeStatus=outcome.runtime_status,
        customStatus=outcome.custom_status,
    )
    return json_response(accepted, 202, headers={"Location": status_url, "Retry-After": "5"})
