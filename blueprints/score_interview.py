"""POST /api/ai/score and the scoring orchestration (was score-interview).

The HTTP starter, its status route, the orchestrator and its three activities;
the logic is in `shared/services/scoring.py` (imported on first call: cold
start), whose constants name these functions.
"""

import azure.functions as func

from shared.errors import NotFound
from shared.http import USER_OR_SERVICE, Call, api, json_response

bp = func.Blueprint()

MODELS = "shared.models.scoring"


@api(bp, "ai/score", auth=USER_OR_SERVICE, body=f"{MODELS}:ScoreRequest", response=f"{MODELS}:ScoreResponse",
     rate_limit="ai/score", durable_client=True)
async def score_interview(call: Call):
    """Score an interview against its rubric: 200 with the scores, or 202 while it runs."""
    from shared.services import scoring

    result, accepted = await scoring.request_scoring(call.services, call.durable_client, call.caller, call.body,
                                                     status_url(call, call.body.interviewId))
    return answer(result, accepted)


@api(bp, "ai/score/{interviewId}", methods=("GET",), auth=USER_OR_SERVICE, response=f"{MODELS}:ScoreResponse",
     rate_limit="ai/score/status", durable_client=True)
async def score_interview_status(call: Call):
    """Poll a scoring run: 200 with the scores, 202 while it runs."""
    from shared.services import scoring

    interview_id = scoring.parse_interview_id(call.request.path_params.get("interviewId"))
    if interview_id is None:
        raise NotFound("Interview not found")
    result, accepted = await scoring.scoring_status(call.services, call.durable_client, call.caller, interview_id,
                                                    status_url(call, interview_id))
    return answer(result, accepted)


def status_url(call: Call, interview_id) -> str:
    return f"{str(call.request.base_url).rstrip('/')}/api/ai/score/{interview_id}"


def answer(result, accepted):
    if result is not None:
        return result
    return json_response(accepted, 202, headers={"Location": accepted.statusQueryGetUri, "Retry-After": "5"})


@bp.orchestration_trigger(context_name="context")
def score_interview_orchestrator(context):
    from shared.services import scoring

    return (yield from scoring.scoring_orchestration(context))


@bp.activity_trigger(input_name="job")
async def scoring_load_context(job):
    from shared.services import scoring
    from shared.wiring import get_services

    return await scoring.run_step(scoring.load_context, get_services().db, job)


@bp.activity_trigger(input_name="loaded")
async def scoring_score_transcript(loaded):
    from shared.services import scoring
    from shared.wiring import get_services

    services = get_services()
    # services.ai is read inside the step: "not configured" must be a result, not a retry.
    return await scoring.run_step(lambda: scoring.score_transcript(services.ai, loaded))


@bp.activity_trigger(input_name="scored")
async def scoring_save(scored):
    from shared.services import scoring
    from shared.wiring import get_services

    return await scoring.run_step(scoring.save_result, get_services().db, scored)
