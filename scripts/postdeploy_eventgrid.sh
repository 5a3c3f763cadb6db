#!/usr/bin/env bash
# Create or update the Event Grid subscription that delivers ACS call and
# recording events to the function app's Event Grid trigger (acs_events),
# for either hosting option (HOSTING=flex or containerapps).
#
# Why after deployment: the subscription's endpoint is
#   https://<app host>/runtime/webhooks/eventgrid?functionName=acs_events&code=<key>
# where <key> is the host's eventgrid_extension system key. That key is
# created by the Functions host once an Event Grid trigger is loaded, i.e.
# only after the code is deployed and the host has started. Event Grid also
# validates the endpoint when the subscription is created, which needs the
# function running. Re-running is safe: the subscription is written with one
# idempotent PUT (this also picks up a rotated system key). The PUT only
# starts the operation (endpoint validation runs after it answers), so the
# script then polls the subscription's provisioningState until Succeeded,
# or Failed (exit 1 with the reason), or EVENTGRID_TIMEOUT_SECONDS.
#
# Delivery: up to 30 attempts within 24 hours (Event Grid's exponential
# back-off), then the event is dead-lettered to a blob container of the host
# storage account, written with the system topic's own identity (shared keys
# are off); an alert fires on DeadLetteredCount (infra/modules/alerts.bicep).
#
# Inputs (azd sets them from infra outputs; CI exports them):
#   AZURE_RESOURCE_GROUP, AZURE_FUNCTION_APP_NAME, EVENTGRID_SYSTEM_TOPIC_NAME,
#   EVENTGRID_DEADLETTER_STORAGE_ID, EVENTGRID_DEADLETTER_CONTAINER
# Optional:
#   HOSTING                      (flex or containerapps; default flex)
#   EVENTGRID_SUBSCRIPTION_NAME  (default acs-events-to-function)
#   ACS_EVENT_TYPES              (space-separated; default below)
#   KEY_WAIT_SECONDS             (default 300)
#   EVENTGRID_TIMEOUT_SECONDS    (default 300)
#   EVENTGRID_POLL_SECONDS       (default 10)
set -euo pipefail

if [ -z "${AZURE_RESOURCE_GROUP:-}" ] && command -v azd >/dev/null 2>&1; then
  # Running by hand (or as the azd hook): read the values from the azd environment.
  eval "$(azd env get-values | grep -E '^(HOSTING|AZURE_RESOURCE_GROUP|AZURE_FUNCTION_APP_NAME|EVENTGRID_SYSTEM_TOPIC_NAME|EVENTGRID_DEADLETTER_STORAGE_ID|EVENTGRID_DEADLETTER_CONTAINER)=')"
fi

: "${AZURE_RESOURCE_GROUP:?AZURE_RESOURCE_GROUP is not set}"
: "${AZURE_FUNCTION_APP_NAME:?AZURE_FUNCTION_APP_NAME is not set}"
: "${EVENTGRID_SYSTEM_TOPIC_NAME:?EVENTGRID_SYSTEM_TOPIC_NAME is not set}"
: "${EVENTGRID_DEADLETTER_STORAGE_ID:?EVENTGRID_DEADLETTER_STORAGE_ID is not set}"
: "${EVENTGRID_DEADLETTER_CONTAINER:?EVENTGRID_DEADLETTER_CONTAINER is not set}"

RG="$AZURE_RESOURCE_GROUP"
APP="$AZURE_FUNCTION_APP_NAME"
TOPIC="$EVENTGRID_SYSTEM_TOPIC_NAME"
HOSTING="${HOSTING:-flex}"
SUB_NAME="${EVENTGRID_SUBSCRIPTION_NAME:-acs-events-to-function}"
FUNCTION_NAME="acs_events"
EVENT_TYPES="${ACS_EVENT_TYPES:-Microsoft.Communication.CallStarted Microsoft.Communication.CallEnded Microsoft.Communication.CallParticipantAdded Microsoft.Communication.CallParticipantRemoved Microsoft.Communication.RecordingFileStatusUpdated}"
WAIT="${KEY_WAIT_SECONDS:-300}"
MAX_DELIVERY_ATTEMPTS=30
EVENT_TTL_MINUTES=1440

command -v az >/dev/null 2>&1 || { echo "postdeploy: the Azure CLI (az) is required" >&2; exit 1; }

case "$HOSTING" in
  flex)
    host="$(az functionapp show -g "$RG" -n "$APP" --query defaultHostName -o tsv)"
    system_key() {
      az functionapp keys list -g "$RG" -n "$APP" --query "systemKeys.eventgrid_extension" -o tsv 2>/dev/null || true
    }
    ;;
  containerapps)
    host="$(az containerapp show -g "$RG" -n "$APP" --query properties.configuration.ingress.fqdn -o tsv)"
    system_key() {
      # The answer is read as either a name -> value map or a list of {name, value}.
      az containerapp function keys list -g "$RG" -n "$APP" --key-type systemKey \
        --query "eventgrid_extension || [?name=='eventgrid_extension'].value | [0]" -o tsv 2>/dev/null || true
    }
    ;;
  *)
    echo "postdeploy: HOSTING must be flex or containerapps, not $HOSTING" >&2
    exit 1
    ;;
esac
[ -n "$host" ] || { echo "postdeploy: app $APP not found in $RG" >&2; exit 1; }

# Wait for the host to publish the eventgrid_extension system key. A request
# to the app wakes a scaled-to-zero host so that it loads the extension.
key=""
deadline=$(( $(date +%s) + WAIT ))
while :; do
  key="$(system_key)"
  if [ -n "$key" ] && [ "$key" != "None" ] && [ "$key" != "null" ]; then
    break
  fi
  if [ "$(date +%s)" -ge "$deadline" ]; then
    echo "postdeploy: no eventgrid_extension system key after ${WAIT}s; is acs_events deployed?" >&2
    exit 1
  fi
  curl -fsS -o /dev/null --max-time 30 "https://${host}/api/health/live" || true
  sleep 10
done

if [ -n "${GITHUB_ACTIONS:-}" ]; then
  echo "::add-mask::${key}"
fi

# The request body carries the key: it goes through a private file, never argv or the log.
umask 077
body="$(mktemp)"
trap 'rm -f "$body"' EXIT
ENDPOINT="https://${host}/runtime/webhooks/eventgrid?functionName=${FUNCTION_NAME}&code=${key}" \
EVENT_TYPES="$EVENT_TYPES" MAX_DELIVERY_ATTEMPTS="$MAX_DELIVERY_ATTEMPTS" EVENT_TTL_MINUTES="$EVENT_TTL_MINUTES" \
DEADLETTER_STORAGE_ID="$EVENTGRID_DEADLETTER_STORAGE_ID" DEADLETTER_CONTAINER="$EVENTGRID_DEADLETTER_CONTAINER" \
python3 - > "$body" <<'PY'
import json
import os

print(json.dumps({"properties": {
    "destination": {"endpointType": "WebHook", "properties": {"endpointUrl": os.environ["ENDPOINT"]}},
    "filter": {"includedEventTypes": os.environ["EVENT_TYPES"].split()},
    "eventDeliverySchema": "EventGridSchema",
    "retryPolicy": {"maxDeliveryAttempts": int(os.environ["MAX_DELIVERY_ATTEMPTS"]),
                    "eventTimeToLiveInMinutes": int(os.environ["EVENT_TTL_MINUTES"])},
    "deadLetterWithResourceIdentity": {
        "identity": {"type": "SystemAssigned"},
        "deadLetterDestination": {"endpointType": "StorageBlob",
                                  "properties": {"resourceId": os.environ["DEADLETTER_STORAGE_ID"],
                                                 "blobContainerName": os.environ["DEADLETTER_CONTAINER"]}},
    },
}}))
PY

arm="$(az cloud show --query endpoints.resourceManager -o tsv)"
subscription="$(az account show --query id -o tsv)"
url="${arm%/}/subscriptions/${subscription}/resourceGroups/${RG}/providers/Microsoft.EventGrid/systemTopics/${TOPIC}/eventSubscriptions/${SUB_NAME}?api-version=2022-06-15"
echo "postdeploy: writing Event Grid subscription $SUB_NAME on $TOPIC (retries ${MAX_DELIVERY_ATTEMPTS}x/${EVENT_TTL_MINUTES} min, dead letters to ${EVENTGRID_DEADLETTER_CONTAINER})"
az rest --method put --url "$url" --body "@${body}" --output none

# provisioningState and, when Failed, the reason (Event Grid reports the
# endpoint validation's error in deliveryWithResourceIdentity or the
# operation's error; the state line is what this loop needs).
deadline=$(( $(date +%s) + ${EVENTGRID_TIMEOUT_SECONDS:-300} ))
while :; do
  state="$(az rest --method get --url "$url" --query properties.provisioningState -o tsv 2>/dev/null || true)"
  case "$state" in
    Succeeded)
      break
      ;;
    Failed|Canceled)
      # The reason may quote the endpoint URL: the key is masked out of it.
      reason="$(az rest --method get --url "$url" -o json 2>/dev/null | EG_KEY="$key" python3 -c '
import json, os, sys
try:
    doc = json.load(sys.stdin)
except ValueError:
    doc = {}
props = doc.get("properties") or {}
reason = props.get("error") or props.get("provisioningStateReason") or doc.get("error") or "no reason given; see the activity log of the system topic"
print(str(reason).replace(os.environ["EG_KEY"], "***"))
' 2>/dev/null || true)"
      echo "postdeploy: Event Grid subscription $SUB_NAME is $state: ${reason}" >&2
      echo "postdeploy: a failed endpoint validation usually means acs_events is not running at https://${host}" >&2
      exit 1
      ;;
  esac
  if [ "$(date +%s)" -ge "$deadline" ]; then
    echo "postdeploy: Event Grid subscription $SUB_NAME still '${state:-unknown}' after ${EVENTGRID_TIMEOUT_SECONDS:-300}s" >&2
    exit 1
  fi
  sleep "${EVENTGRID_POLL_SECONDS:-10}"
done
echo "postdeploy: ACS events -> https://${host}/runtime/webhooks/eventgrid?functionName=${FUNCTION_NAME} (key not printed; subscription Succeeded)"
