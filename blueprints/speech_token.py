"""GET/POST /api/azure/speech-token (was azure-speech-token)."""

import azure.functions as func

from shared.http import USER, Call, api

bp = func.Blueprint()


@api(bp, "azure/speech-token", methods=("GET", "POST"), auth=USER, response="shared.models.calls:SpeechTokenResponse",
     rate_limit="azure/speech-token")
async def speech_token(call: Call):
    """A Speech authorization token for the browser's Speech SDK (cached per instance)."""
    from shared.services.speech import speech_token as current_speech_token

    return await current_speech_token(call.services.speech_tokens)
