"""POST /api/ai/interviewer and /api/ai/interviewer/stream (was ai-interviewer)."""

import azure.functions as func
from azurefunctions.extensions.http.fastapi import StreamingResponse

from shared.interviewer.models import InterviewerRequest, InterviewerResponse, StreamDocs
from shared.platform.buckets import Bucket
from shared.platform.http import USER, Call, api

bp = func.Blueprint()

MAX_BODY_BYTES = 256 * 1024  # API.md: the interviewer's body is at most 256 KB


@api(
    bp,
    "ai/interviewer",
    auth=USER,
    body=InterviewerRequest,
    response=InterviewerResponse,
    rate_limit=Bucket.AI_INTERVIEWER,
    max_body=MAX_BODY_BYTES,
    former="ai-interviewer",
    errors=(402, 404, 409, 502),
    model_budget=True,
)
async def ai_interviewer(call: Call) -> InterviewerResponse:
    """The interviewer's next turn."""
    from shared.interviewer import service as interviewer

    turn = await interviewer.prepare_turn(call.services.db, call.user, call.body)
    return await interviewer.answer_turn(call.services.db, call.services.metered_ai(call.user), turn)


@api(
    bp,
    "ai/interviewer/stream",
    auth=USER,
    body=InterviewerRequest,
    rate_limit=Bucket.AI_INTERVIEWER,
    max_body=MAX_BODY_BYTES,
    streams=True,
    errors=(402, 404, 409, 502),
    model_budget=True,
    docs=StreamDocs(),
)
async def ai_interviewer_stream(call: Call) -> StreamingResponse:
    """The interviewer's next turn as Server-Sent Events."""
    from shared.interviewer import service as interviewer

    turn = await interviewer.prepare_turn(call.services.db, call.user, call.body)
    events = await interviewer.open_stream(call.services.db, call.services.metered_ai(call.user), turn)
    return StreamingResponse(
        events, media_type="text/event-stream", headers={"cache-control": "no-cache", "x-accel-buffering": "no"}
    )
