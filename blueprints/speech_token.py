"""GET/POST /api/azure/speech-token (was azure-speech-token)."""

import azure.functions as func

from shared.calls.models import SpeechTokenResponse
from shared.calls.speech import speech_token as current_speech_token
from shared.platform.http import USER, Call, api
from shared.platform.rate_limit import Bucket

bp = func.Blueprint()


@api(
    bp,
    "azure/speech-token",
    methods=("GET", "POST"),
    auth=USER,
    response=SpeechTokenResponse,
    rate_limit=Bucket.SPEECH_TOKEN,
    former="azure-speech-token",
)
async def speech_token(call: Call) -> SpeechTokenResponse:
    """A Speech authorization token for the browser's Speech SDK (cached per instance)."""
    return await current_speech_token(call.services.speech_tokens)
