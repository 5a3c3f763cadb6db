#!/usr/bin/env bash
# The azd hooks (azure.yaml), one phase per argument. azd passes the azd
# environment's values (HOSTING, AZURE_LOCATION, the outputs, the secrets
# set with `azd env set`) as environment variables.
#   preprovision   check `az` sign-in; bootstrap stage: identities, vault,
#                  role assignments, secrets seeded, propagation wait
#   postprovision  Container Apps: build, push, deploy the image (image and
#                  port in one revision), Event Grid subscription, smoke test
#   predeploy      check `az` sign-in; on Container Apps nothing to deploy
#                  (the service's condition skips it; exits 0 either way)
#   postdeploy     Flex: Event Grid subscription, smoke test
# `azd up` runs all four and exits 0 after a successful deploy on both
# hosting options.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
# shellcheck source=infra/scripts/lib.sh
. infra/scripts/lib.sh

phase="${1:?usage: azd_hooks.sh preprovision|postprovision|predeploy|postdeploy}"
hosting="${HOSTING:-flex}"
export HOSTING="$hosting" AZURE_LOCATION="${AZURE_LOCATION:-australiaeast}"

smoke() {
  : "${SERVICE_API_URI:?SERVICE_API_URI is not set}"
  python3 scripts/smoke.py "$SERVICE_API_URI" --eventgrid-subscription "$(eventgrid_subscription_id)"
}

require_az_login

case "$phase" in
  preprovision)
    bash infra/scripts/provision.sh bootstrap
    ;;
  postprovision)
    if [ "$hosting" = "containerapps" ]; then
      bash infra/scripts/containerapp.sh build
      bash infra/scripts/containerapp.sh push
      bash infra/scripts/containerapp.sh deploy
      bash scripts/postdeploy_eventgrid.sh
      smoke
    fi
    ;;
  predeploy)
    if [ "$hosting" = "containerapps" ]; then
      echo "azd: HOSTING=containerapps: the image was deployed by the postprovision hook; no code package to deploy"
    fi
    ;;
  postdeploy)
    if [ "$hosting" = "flex" ]; then
      bash scripts/postdeploy_eventgrid.sh
      smoke
    fi
    ;;
  *)
    echo "azd_hooks: unknown phase $phase" >&2
    exit 2
    ;;
esac
