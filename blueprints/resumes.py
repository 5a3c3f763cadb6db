"""POST /api/ai/parse-resume (was parse-resume)."""

import azure.functions as func

from shared.platform.buckets import Bucket
from shared.platform.http import USER, Call, api, media_type, read_body, read_model
from shared.platform.operation import BODY_ERRORS
from shared.resumes.models import MAX_UPLOAD_BODY, ParseResumeDocs, ParseResumeRequest, ParseResumeResponse

bp = func.Blueprint()


@api(
    bp,
    "ai/parse-resume",
    auth=USER,
    response=ParseResumeResponse,
    rate_limit=Bucket.AI_PARSE_RESUME,
    max_body=MAX_UPLOAD_BODY,
    former="parse-resume",
    errors=(*BODY_ERRORS, 402, 404, 422, 502),
    model_budget=True,
    docs=ParseResumeDocs(),
)
async def parse_resume(call: Call) -> ParseResumeResponse:
    """Read the caller's CV (stored, or uploaded as multipart `file`) into profile fields."""
    from shared.resumes import service as resumes

    if media_type(call.request) == "multipart/form-data":
        body = await read_body(call.request, MAX_UPLOAD_BODY)
        pdf = resumes.uploaded_file(call.request.headers["content-type"], body)
        resume = await resumes.parse_pdf(call.services.metered_ai(call.user), call.services.db, call.user, pdf)
    else:
        request = await read_model(call.request, ParseResumeRequest)
        resume = await resumes.parse_stored(
            call.services.cv_storage, call.services.metered_ai(call.user), call.services.db, call.user, request
        )
    return ParseResumeResponse(data=resume)
