"""POST /api/ai/interviewer and /api/ai/interviewer/stream (was ai-interviewer).

Blueprints name their models as "module:Class" and import their service on
first call: the app imports every blueprint at start-up (cold start)."""

import azure.functions as func
from azurefunctions.extensions.http.fastapi import StreamingResponse

from shared.http import USER, Call, api

bp = func.Blueprint()

MODELS = "shared.models.interviewer"
MAX_BODY_BYTES = 256 * 1024  # API.md: the interviewer's body is at most 256 KB


@api(bp, "ai/interviewer", auth=USER, body=f"{MODELS}:InterviewerRequest", response=f"{MODELS}:InterviewerResponse",
     rate_limit="ai/interviewer", max_body=MAX_BODY_BYTES)
async def ai_interviewer(call: Call):
    """The interviewer's next turn."""
    from shared.services import interviewer

    turn = await interviewer.prepare_turn(call.services.db, call.user_id, call.body)
    return await interviewer.answer_turn(call.services.db, call.services.ai, turn)


@api(bp, "ai/interviewer/stream", auth=USER, body=f"{MODELS}:InterviewerRequest", rate_limit="ai/interviewer",
     max_body=MAX_BODY_BYTES, streams=True)
async def ai_interviewer_stream(call: Call):
    """The interviewer's next turn as Server-Sent Events."""
    from shared.services import interviewer

    turn = await interviewer.prepare_turn(call.services.db, call.user_id, call.body)
    events = await interviewer.open_stream(call.services.db, call.services.ai, turn)
    return StreamingResponse(events, media_type="text/event-stream",
                             headers={"cache-control": "no-cache", "x-accel-buffering": "no"})
