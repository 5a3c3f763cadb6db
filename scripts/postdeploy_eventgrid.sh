#!/usr/bin/env bash
# Create or update the Event Grid subscription that delivers ACS call and
# recording events to the function app's Event Grid trigger (acs_events).
#
# Why after deployment: the subscription's endpoint is
#   https://<app>/runtime/webhooks/eventgrid?functionName=acs_events&code=<key>
# where <key> is the host's eventgrid_extension system key. That key is
# created by the Functions host once an Event Grid trigger is loaded, i.e.
# only after the code is deployed and the host has started. Event Grid also
# validates the endpoint when the subscription is created, which needs the
# function running. Re-running is safe: an existing subscription is updated
# (this also picks up a rotated system key).
#
# Inputs (azd sets them from infra outputs; CI exports them):
#   AZURE_RESOURCE_GROUP, AZURE_FUNCTION_APP_NAME, EVENTGRID_SYSTEM_TOPIC_NAME
# Optional:
#   EVENTGRID_SUBSCRIPTION_NAME  (default acs-events-to-function)
#   ACS_EVENT_TYPES              (space-separated; default below)
#   KEY_WAIT_SECONDS             (default 300)
set -euo pipefail

if [ -z "${AZURE_RESOURCE_GROUP:-}" ] && command -v azd >/dev/null 2>&1; then
  # Running by hand after `azd up`: read the values from the azd environment.
  eval "$(azd env get-values | grep -E '^(AZURE_RESOURCE_GROUP|AZURE_FUNCTION_APP_NAME|EVENTGRID_SYSTEM_TOPIC_NAME)=')"
fi

: "${AZURE_RESOURCE_GROUP:?AZURE_RESOURCE_GROUP is not set}"
: "${AZURE_FUNCTION_APP_NAME:?AZURE_FUNCTION_APP_NAME is not set}"
: "${EVENTGRID_SYSTEM_TOPIC_NAME:?EVENTGRID_SYSTEM_TOPIC_NAME is not set}"

RG="$AZURE_RESOURCE_GROUP"
APP="$AZURE_FUNCTION_APP_NAME"
TOPIC="$EVENTGRID_SYSTEM_TOPIC_NAME"
SUB_NAME="${EVENTGRID_SUBSCRIPTION_NAME:-acs-events-to-function}"
FUNCTION_NAME="acs_events"
EVENT_TYPES="${ACS_EVENT_TYPES:-Microsoft.Communication.CallStarted Microsoft.Communication.CallEnded Microsoft.Communication.CallParticipantAdded Microsoft.Communication.CallParticipantRemoved Microsoft.Communication.RecordingFileStatusUpdated}"
WAIT="${KEY_WAIT_SECONDS:-300}"

command -v az >/dev/null 2>&1 || { echo "postdeploy: the Azure CLI (az) is required" >&2; exit 1; }

host="$(az functionapp show -g "$RG" -n "$APP" --query defaultHostName -o tsv)"
[ -n "$host" ] || { echo "postdeploy: function app $APP not found in $RG" >&2; exit 1; }

# Wait for the host to publish the eventgrid_extension system key. A request
# to the app wakes a scaled-to-zero host so that it loads the extension.
key=""
deadline=$(( $(date +%s) + WAIT ))
while :; do
  key="$(az functionapp keys list -g "$RG" -n "$APP" --query "systemKeys.eventgrid_extension" -o tsv 2>/dev/null || true)"
  if [ -n "$key" ] && [ "$key" != "None" ] && [ "$key" != "null" ]; then
    break
  fi
  if [ "$(date +%s)" -ge "$deadline" ]; then
    echo "postdeploy: no eventgrid_extension system key after ${WAIT}s; is acs_events deployed?" >&2
    exit 1
  fi
  curl -fsS -o /dev/null --max-time 30 "https://${host}/api/health" || true
  sleep 10
done

if [ -n "${GITHUB_ACTIONS:-}" ]; then
  echo "::add-mask::${key}"
fi
endpoint="https://${host}/runtime/webhooks/eventgrid?functionName=${FUNCTION_NAME}&code=${key}"

# shellcheck disable=SC2086  # EVENT_TYPES is a deliberate word list
if az eventgrid system-topic event-subscription show -g "$RG" --system-topic-name "$TOPIC" -n "$SUB_NAME" >/dev/null 2>&1; then
  echo "postdeploy: updating Event Grid subscription $SUB_NAME on $TOPIC"
  az eventgrid system-topic event-subscription update \
    -g "$RG" --system-topic-name "$TOPIC" -n "$SUB_NAME" \
    --endpoint "$endpoint" \
    --included-event-types $EVENT_TYPES \
    --output none
else
  echo "postdeploy: creating Event Grid subscription $SUB_NAME on $TOPIC"
  az eventgrid system-topic event-subscription create \
    -g "$RG" --system-topic-name "$TOPIC" -n "$SUB_NAME" \
    --endpoint-type webhook \
    --endpoint "$endpoint" \
    --event-delivery-schema eventgridschema \
    --included-event-types $EVENT_TYPES \
    --max-delivery-attempts 30 \
    --event-ttl 1440 \
    --output none
fi
echo "postdeploy: ACS events -> https://${host}/runtime/webhooks/eventgrid?functionName=${FUNCTION_NAME} (key not printed)"
