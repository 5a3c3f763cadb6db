#!/usr/bin/env bash
# Provision infra/main.bicep in two stages (see the header of main.bicep):
#   bash infra/scripts/provision.sh bootstrap
#       identities, Key Vault, registry, ACS, Speech and every role
#       assignment (stage=bootstrap); then the secrets are seeded
#       (infra/scripts/seed_secrets.sh) and, on a fresh vault, the role
#       assignments get time to propagate before anything reads with them.
#   bash infra/scripts/provision.sh app
#       everything, the function app included (stage=app). On Container Apps
#       the image is CONTAINER_IMAGE, else the one the app already runs;
#       image and port change in this one deployment. A failure is retried
#       (role assignments can take minutes to reach Container Apps:
#       microsoft/azure-container-apps#930, #1174).
# Parameters: PARAMETERS_FILE, else infra/main.parameters.<TARGET_ENV>.json
# (CI), else azd's infra/main.parameters.json rendered from the environment
# (the azd hooks). Refuses a file that still holds REPLACE_ME values.
# Inputs: HOSTING (flex|containerapps), AZURE_LOCATION; optional
# CONTAINER_IMAGE, ROLE_PROPAGATION_SECONDS (default 300),
# APP_DEPLOY_ATTEMPTS (default 3), RETRY_SECONDS (default 60).
# The outputs (read case-insensitively) go to $GITHUB_ENV, else stdout.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
# shellcheck source=infra/scripts/lib.sh
. infra/scripts/lib.sh

stage="${1:?usage: provision.sh bootstrap|app}"
case "$stage" in
  bootstrap|app) ;;
  *) echo "provision: unknown stage $stage" >&2; exit 2 ;;
esac
: "${HOSTING:?HOSTING is not set}"
: "${AZURE_LOCATION:?AZURE_LOCATION is not set}"
require_az_login

umask 077
workdir="$(mktemp -d)"
trap 'rm -rf "$workdir"' EXIT
if [ -n "${PARAMETERS_FILE:-}" ]; then
  params="$PARAMETERS_FILE"
elif [ -n "${TARGET_ENV:-}" ]; then
  params="infra/main.parameters.${TARGET_ENV}.json"
else
  params="$workdir/parameters.json"
  render_azd_parameters infra/main.parameters.json "$params"
fi
if grep -n "REPLACE_ME" "$params"; then
  echo "::error::${params} still has REPLACE_ME values"
  exit 1
fi

env_name="$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["parameters"]["environmentName"]["value"])' "$params")"
name="talenti-${env_name}-${stage}-${GITHUB_RUN_ID:-$(date -u +%Y%m%d%H%M%S)}"

deploy() {
  az deployment sub create \
    --name "$name" \
    --location "$AZURE_LOCATION" \
    --template-file infra/main.bicep \
    --parameters "@${params}" \
    --parameters "$@" \
    --output none
}

outputs() {
  az deployment sub show --name "$name" --query properties.outputs -o json | deployment_outputs "$@"
}

publish() {
  # GitHub Actions' env file, or stdout for a person or a hook to read.
  if [ -n "${GITHUB_ENV:-}" ]; then
    cat >> "$GITHUB_ENV"
  else
    cat
  fi
}

if [ "$stage" = "bootstrap" ]; then
  vault_existed=false
  vault_name="$(az keyvault list --query "[?tags.\"azd-env-name\"=='${env_name}'] | [0].name" -o tsv 2>/dev/null || true)"
  [ -n "$vault_name" ] && vault_existed=true
  deploy stage=bootstrap hosting="$HOSTING"
  values="$(outputs AZURE_RESOURCE_GROUP AZURE_KEY_VAULT_NAME AZURE_APP_PRINCIPAL_ID AZURE_CONTAINER_REGISTRY_NAME AZURE_CONTAINER_REGISTRY_ENDPOINT)"
  printf '%s\n' "$values" | publish
  AZURE_KEY_VAULT_NAME="$(printf '%s\n' "$values" | sed -n 's/^AZURE_KEY_VAULT_NAME=//p')"
  export AZURE_KEY_VAULT_NAME
  bash infra/scripts/seed_secrets.sh
  if [ "$vault_existed" = false ]; then
    # New role assignments: Azure documents up to 10 minutes before they apply.
    wait_seconds="${ROLE_PROPAGATION_SECONDS:-300}"
    echo "provision: new vault and role assignments; waiting ${wait_seconds}s for them to propagate"
    sleep "$wait_seconds"
  fi
  exit 0
fi

image=""
if [ "$HOSTING" = "containerapps" ]; then
  image="${CONTAINER_IMAGE:-}"
  if [ -z "$image" ]; then
    az extension add --name containerapp --upgrade --only-show-errors
    image="$(AZURE_ENV_NAME="$env_name" bash infra/scripts/containerapp.sh current)"
  fi
fi

attempts="${APP_DEPLOY_ATTEMPTS:-3}"
for attempt in $(seq 1 "$attempts"); do
  if deploy stage=app hosting="$HOSTING" containerImage="$image"; then
    break
  fi
  if [ "$attempt" -ge "$attempts" ]; then
    echo "provision: the app stage failed ${attempts} times" >&2
    exit 1
  fi
  echo "provision: the app stage failed (attempt ${attempt}/${attempts}); role assignments may still be propagating, retrying in ${RETRY_SECONDS:-60}s" >&2
  sleep "${RETRY_SECONDS:-60}"
done

outputs HOSTING AZURE_RESOURCE_GROUP AZURE_FUNCTION_APP_NAME SERVICE_API_URI \
  EVENTGRID_SYSTEM_TOPIC_NAME EVENTGRID_DEADLETTER_STORAGE_ID EVENTGRID_DEADLETTER_CONTAINER \
  AZURE_CONTAINER_REGISTRY_NAME AZURE_CONTAINER_REGISTRY_ENDPOINT AZURE_KEY_VAULT_NAME \
  DB_CONNECTIONS_BUDGETED | publish
