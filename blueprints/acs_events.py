"""ACS call and recording events: the Event Grid trigger `acs_events` and
POST /api/acs/webhook (was acs-webhook-handler). Both hand events to
shared/services/call_events.py."""

import azure.functions as func
from azurefunctions.extensions.http.fastapi import Response

from shared.http import ANONYMOUS, ONE_MB, Call, api, json_response, read_json

bp = func.Blueprint()

SECRET_HEADER = "x-acs-webhook-secret"


@bp.function_name("acs_events")
@bp.event_grid_trigger(arg_name="event")
@bp.durable_client_input(client_name="client")
async def acs_events(event: func.EventGridEvent, client) -> None:
    """One ACS event from the Event Grid system topic subscription. Raising makes Event
    Grid redeliver, so only temporary failures raise; a malformed event is logged."""
    from shared.services.call_events import handle_trigger_event
    from shared.wiring import get_services

    await handle_trigger_event(get_services(), event, client)


@api(bp, "acs/webhook", methods=("POST", "OPTIONS"), auth=ANONYMOUS, response="shared.models.calls:WebhookResponse",
     durable_client=True)
async def acs_webhook(call: Call):
    """ACS call and recording events pushed by an Event Grid webhook subscription."""
    from shared.services.call_events import events_in, receive_webhook, webhook_origin, webhook_secrets

    request = call.request
    webhook_secrets(call.services.settings)  # 503, before anything else, when the webhook is not configured
    if request.method == "OPTIONS":  # CloudEvents abuse-protection handshake
        origin = webhook_origin(request.headers.get("webhook-request-origin"))
        return Response(status_code=200, headers={"WebHook-Allowed-Origin": origin, "WebHook-Allowed-Rate": "*"})
    raws = events_in(await read_json(request, ONE_MB))
    secret = request.headers.get(SECRET_HEADER) or request.query_params.get("secret")
    status, body = await receive_webhook(call.services, call.durable_client, raws, secret)
    call.log_fields.update(processed=body.get("processed"), failed=len(body.get("failed") or []))
    return json_response(body, status)
