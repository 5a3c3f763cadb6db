"""Calls (was acs-token-generator, azure-speech-token and acs-webhook-handler):
POST /api/acs/token, GET/POST /api/azure/speech-token, the Event Grid trigger
`acs_events` and POST /api/acs/webhook for ACS call and recording events.
Each binds its trigger and hands over to shared/calls/."""

from typing import Any

import azure.functions as func
from azurefunctions.extensions.http.fastapi import Response

from shared.calls.models import AcsTokenRequest, AcsTokenResponse, SpeechTokenResponse, WebhookDocs, WebhookResponse
from shared.platform.buckets import Bucket
from shared.platform.errors import PayloadTooLarge
from shared.platform.http import ANONYMOUS, ONE_MB, USER, Call, api, json_response, read_json
from shared.platform.operation import BODY_ERRORS
from shared.platform.rate_limit import address_key
from shared.platform.wiring import get_services

bp = func.Blueprint()

SECRET_HEADER = "x-acs-webhook-secret"
# Without the right secret only a subscription-validation event is read, and one is tiny.
UNVERIFIED_MAX_BYTES = 4096


@api(
    bp,
    "acs/token",
    auth=USER,
    body=AcsTokenRequest,
    response=AcsTokenResponse,
    rate_limit=Bucket.ACS_TOKEN,
    former="acs-token-generator",
    errors=(403, 502),
)
async def acs_token(call: Call) -> AcsTokenResponse:
    """Issue an ACS token for the caller's own ACS identity (created on first use)."""
    from shared.calls.service import issue_acs_token

    return await issue_acs_token(call.services.db, call.services.acs_identity, call.user, call.body.scopes)


@api(
    bp,
    "azure/speech-token",
    methods=("GET", "POST"),
    auth=USER,
    response=SpeechTokenResponse,
    rate_limit=Bucket.SPEECH_TOKEN,
    former="azure-speech-token",
    errors=(403, 502),
)
async def speech_token(call: Call) -> SpeechTokenResponse:
    """A Speech authorization token for the browser's Speech SDK (cached per instance)."""
    from shared.calls.service import speech_token as current_speech_token

    return await current_speech_token(call.services.db, call.services.speech_tokens, call.user)


@bp.function_name("acs_events")
@bp.event_grid_trigger(arg_name="event")
@bp.durable_client_input(client_name="client")
async def acs_events(event: func.EventGridEvent, client: str) -> None:
    """One ACS event from the Event Grid system topic subscription. Raising makes Event
    Grid redeliver, so only temporary failures raise; a malformed event is logged."""
    from shared.calls.service import handle_trigger_event

    services = get_services()
    await handle_trigger_event(services.db, services.settings, event, client)


@api(
    bp,
    "acs/webhook",
    methods=("POST", "OPTIONS"),
    auth=ANONYMOUS,
    response=WebhookResponse,
    durable_client=True,
    former="acs-webhook-handler",
    errors=BODY_ERRORS,
    docs=WebhookDocs(),
)
async def acs_webhook(call: Call) -> Response:
    """ACS call and recording events pushed by an Event Grid webhook subscription."""
    from shared.calls.envelopes import events_in, webhook_origin
    from shared.calls.service import receive_webhook, refuse_secret, secret_matches, webhook_secrets

    request = call.request
    webhook_secrets(call.services.settings)  # 503, before anything else, when the webhook is not configured
    if request.method == "OPTIONS":  # CloudEvents abuse-protection handshake
        origin = webhook_origin(request.headers.get("webhook-request-origin"))
        return Response(status_code=200, headers={"WebHook-Allowed-Origin": origin, "WebHook-Allowed-Rate": "*"})
    settings = call.services.settings
    secret = request.headers.get(SECRET_HEADER)
    if secret is None and settings.ACS_WEBHOOK_SECRET_IN_QUERY:  # migration window only (docs/CALLS.md)
        secret = request.query_params.get("secret")
        if secret:  # a credential like the headers the edge checks: refused from a locked-out address
            call.services.rate_limiter.refuse_locked_out(address_key(call.client_ip))
    verified = secret_matches(secret, webhook_secrets(settings))
    try:  # the secret is checked before a large body is parsed
        raws = events_in(await read_json(request, ONE_MB if verified else UNVERIFIED_MAX_BYTES))
    except PayloadTooLarge:
        if verified:
            raise
        refuse_secret(secret)
        raise
    reply = await receive_webhook(call.services.db, settings, call.durable_client, raws, secret)
    if reply.validation_code is not None:
        return json_response({"validationResponse": reply.validation_code})
    batch = reply.batch
    call.log_fields.update(processed=batch.processed, failed=len(batch.failed))
    if batch.retry:  # a temporary failure: Event Grid redelivers; processed events are skipped then
        return json_response(
            {
                "error": "Some events could not be processed now; redeliver",
                "processed": batch.processed,
                "failed": batch.failed,
            },
            503,
        )
    answer: dict[str, Any] = {"success": True, "processed": batch.processed}
    if batch.failed:
        answer["failed"] = batch.failed
    return json_response(answer)
