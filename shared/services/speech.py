"""Speech tokens (API.md section 8): the instance's cached token and its remaining life."""

from __future__ import annotations

from shared.models.calls import SpeechTokenResponse


async def speech_token(tokens) -> SpeechTokenResponse:
    token = await tokens.get()
    return SpeechTokenResponse(token=token.token, region=tokens.region, expiresIn=token.expires_in)
