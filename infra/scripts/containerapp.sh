#!/usr/bin/env bash
# Container Apps hosting: build the image, push it to the registry, point the
# function app at it. One stage per argument, so that CI runs them as
# separate steps and azd (postprovision hook) runs them all:
#   bash infra/scripts/containerapp.sh build     docker build (needs Docker)
#   bash infra/scripts/containerapp.sh push      az acr login + docker push
#   bash infra/scripts/containerapp.sh deploy    new revision with the image (provision.sh app)
#   bash infra/scripts/containerapp.sh current   print the image now running ('' if none)
#   bash infra/scripts/containerapp.sh all       build, push, deploy, Event Grid subscription
# Sign-in is the caller's Entra identity (az login / OIDC in CI): `az acr login`
# exchanges it for a registry token; the registry has no admin user and no
# password exists anywhere. The pusher needs AcrPush (main.bicep grants it to
# principalId).
# Inputs (azd outputs; CI exports them): AZURE_CONTAINER_REGISTRY_NAME,
# AZURE_CONTAINER_REGISTRY_ENDPOINT, AZURE_RESOURCE_GROUP,
# AZURE_FUNCTION_APP_NAME; optional IMAGE_TAG (default: commit id, or a time
# stamp outside git), AZURE_ENV_NAME (for `current`).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

stage="${1:?usage: containerapp.sh build|push|deploy|current|all}"

if [ -z "${AZURE_CONTAINER_REGISTRY_NAME:-}" ] && command -v azd >/dev/null 2>&1; then
  eval "$(azd env get-values | grep -E '^(HOSTING|AZURE_ENV_NAME|AZURE_RESOURCE_GROUP|AZURE_FUNCTION_APP_NAME|AZURE_CONTAINER_REGISTRY_NAME|AZURE_CONTAINER_REGISTRY_ENDPOINT)=')"
fi

if [ "$stage" = "current" ]; then
  # The image of the environment's running app, so that a re-provision keeps it.
  # A failing query must stop the deploy: an empty answer would put the placeholder back.
  : "${AZURE_ENV_NAME:?AZURE_ENV_NAME is not set}"
  current="$(az containerapp list \
    --query "[?tags.\"azd-env-name\"=='${AZURE_ENV_NAME}' && tags.\"azd-service-name\"=='api'] | [0].properties.template.containers[0].image" \
    -o tsv)"
  case "$current" in
    mcr.microsoft.com/*) ;;   # the placeholder: no image of ours yet
    *) echo "$current" ;;
  esac
  exit 0
fi

if [ "${HOSTING:-containerapps}" != "containerapps" ]; then
  echo "containerapp: HOSTING is ${HOSTING}; nothing to do"
  exit 0
fi

: "${AZURE_CONTAINER_REGISTRY_ENDPOINT:?AZURE_CONTAINER_REGISTRY_ENDPOINT is not set}"
tag="${IMAGE_TAG:-$(git rev-parse --short=12 HEAD 2>/dev/null || date -u +%Y%m%d%H%M%S)}"
image="${AZURE_CONTAINER_REGISTRY_ENDPOINT}/talenti-api:${tag}"

build() {
  docker build --pull --tag "$image" .
}

push() {
  : "${AZURE_CONTAINER_REGISTRY_NAME:?AZURE_CONTAINER_REGISTRY_NAME is not set}"
  az acr login --name "$AZURE_CONTAINER_REGISTRY_NAME"
  docker push "$image"
}

deploy() {
  # The template sets the image and its port (and probes) in one revision: a
  # separate port switch ahead of the image left the placeholder (port 80)
  # failing its probes, and an image switch ahead of the port the image.
  CONTAINER_IMAGE="$image" HOSTING=containerapps AZURE_LOCATION="${AZURE_LOCATION:-australiaeast}" \
    bash infra/scripts/provision.sh app
  if command -v azd >/dev/null 2>&1 && [ -z "${GITHUB_ACTIONS:-}" ]; then
    azd env set SERVICE_API_IMAGE_NAME "$image"   # a later `azd provision` keeps this image
  fi
  echo "containerapp: the app runs $image"
}

case "$stage" in
  build) build ;;
  push) push ;;
  deploy) deploy ;;
  all) build; push; deploy; bash scripts/postdeploy_eventgrid.sh ;;
  *) echo "containerapp: unknown stage $stage" >&2; exit 2 ;;
esac
