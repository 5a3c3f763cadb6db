"""POST /api/ai/interviewer and /api/ai/interviewer/stream (was ai-interviewer)."""

import azure.functions as func
from azurefunctions.extensions.http.fastapi import StreamingResponse

from shared.http import USER, Call, api
from shared.models.interviewer import MAX_BODY_BYTES, InterviewerRequest, InterviewerResponse
from shared.services import interviewer

bp = func.Blueprint()


@api(bp, "ai/interviewer", auth=USER, body=InterviewerRequest, response=InterviewerResponse,
     rate_limit="ai/interviewer", max_body=MAX_BODY_BYTES)
async def ai_interviewer(call: Call):
    """The interviewer's next turn."""
    turn = await interviewer.prepare_turn(call.services.db, call.user_id, call.body)
    return await interviewer.answer_turn(call.services.db, call.services.ai, turn)


@api(bp, "ai/interviewer/stream", auth=USER, body=InterviewerRequest, rate_limit="ai/interviewer",
     max_body=MAX_BODY_BYTES, streams=True)
async def ai_interviewer_stream(call: Call):
    """The interviewer's next turn as Server-Sent Events."""
    turn = await interviewer.prepare_turn(call.services.db, call.user_id, call.body)
    events = await interviewer.open_stream(call.services.db, call.services.ai, turn)
    return StreamingResponse(events, media_type="text/event-stream",
                             headers={"cache-control": "no-cache", "x-accel-buffering": "no"})
