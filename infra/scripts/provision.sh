#!/usr/bin/env bash
# CI provisioning (the deploy workflow's first step after sign-in):
# infra/main.bicep with infra/main.parameters.<TARGET_ENV>.json and the chosen
# HOSTING, keeping the image a Container Apps app already runs. The
# deployment's outputs are appended to $GITHUB_ENV (or printed) for the next
# steps. Refuses a parameter file that still holds REPLACE_ME values.
# Inputs: TARGET_ENV (dev|prod), HOSTING (flex|containerapps), AZURE_LOCATION.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

: "${TARGET_ENV:?TARGET_ENV is not set}"
: "${HOSTING:?HOSTING is not set}"
: "${AZURE_LOCATION:?AZURE_LOCATION is not set}"
params="infra/main.parameters.${TARGET_ENV}.json"

if grep -n "REPLACE_ME" "$params"; then
  echo "::error::${params} still has REPLACE_ME values"
  exit 1
fi

image=""
if [ "$HOSTING" = "containerapps" ]; then
  az extension add --name containerapp --upgrade --only-show-errors
  env_name="$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["parameters"]["environmentName"]["value"])' "$params")"
  image="$(AZURE_ENV_NAME="$env_name" bash infra/scripts/containerapp.sh current)"
fi

name="talenti-${TARGET_ENV}-${GITHUB_RUN_ID:-$(date -u +%Y%m%d%H%M%S)}"
az deployment sub create \
  --name "$name" \
  --location "$AZURE_LOCATION" \
  --template-file infra/main.bicep \
  --parameters "@${params}" \
  --parameters hosting="$HOSTING" containerImage="$image" \
  --output none

az deployment sub show --name "$name" --query properties.outputs -o json | python3 -c '
import json, sys
wanted = ("HOSTING", "AZURE_RESOURCE_GROUP", "AZURE_FUNCTION_APP_NAME", "SERVICE_API_URI",
          "EVENTGRID_SYSTEM_TOPIC_NAME", "EVENTGRID_DEADLETTER_STORAGE_ID", "EVENTGRID_DEADLETTER_CONTAINER",
          "AZURE_CONTAINER_REGISTRY_NAME", "AZURE_CONTAINER_REGISTRY_ENDPOINT")
outputs = json.load(sys.stdin)
for key in wanted:
    print(key + "=" + str(outputs[key]["value"]))
' >> "${GITHUB_ENV:-/dev/stdout}"
