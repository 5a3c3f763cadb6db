"""Speech tokens (API.md section 8): the instance's cached token and its remaining life."""

from __future__ import annotations

from shared.adapters.ports import SpeechTokenSource
from shared.calls.models import SpeechTokenResponse


async def speech_token(tokens: SpeechTokenSource) -> SpeechTokenResponse:
    token = await tokens.get()
    return SpeechTokenResponse(token=token.token, region=tokens.region, expiresIn=token.expires_in)
