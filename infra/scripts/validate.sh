#!/usr/bin/env bash
# The deploy workflow's validate stage: what cannot be checked on a
# development machine (no Azure CLI, no Bicep compiler there), on the target
# subscription, before anything is deployed:
#   1. the connection budget of the parameter file (scripts/check_connection_budget.py)
#   2. az bicep build (the compiler's errors and linter warnings)
#   3. az deployment sub validate, both stages (ARM preflight: parameter
#      types, resource schemas, the connection budget's failing expression)
#   4. az deployment sub what-if, app stage (what the deploy will change)
# Inputs: TARGET_ENV (or PARAMETERS_FILE), HOSTING, AZURE_LOCATION.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
# shellcheck source=infra/scripts/lib.sh
. infra/scripts/lib.sh

: "${HOSTING:?HOSTING is not set}"
: "${AZURE_LOCATION:?AZURE_LOCATION is not set}"
params="${PARAMETERS_FILE:-infra/main.parameters.${TARGET_ENV:?TARGET_ENV is not set}.json}"
if grep -n "REPLACE_ME" "$params"; then
  echo "::error::${params} still has REPLACE_ME values"
  exit 1
fi

echo "validate: [1/4] connection budget"
python3 scripts/check_connection_budget.py "$params"

require_az_login
echo "validate: [2/4] az bicep build"
az bicep build --file infra/main.bicep --stdout > /dev/null

name="talenti-validate-${GITHUB_RUN_ID:-$(date -u +%Y%m%d%H%M%S)}"
for stage in bootstrap app; do
  echo "validate: [3/4] az deployment sub validate (stage=$stage, hosting=$HOSTING)"
  az deployment sub validate --name "$name-$stage" --location "$AZURE_LOCATION" \
    --template-file infra/main.bicep --parameters "@${params}" \
    --parameters stage="$stage" hosting="$HOSTING" --output none
done

echo "validate: [4/4] az deployment sub what-if (stage=app, hosting=$HOSTING)"
az deployment sub what-if --name "$name-what-if" --location "$AZURE_LOCATION" \
  --template-file infra/main.bicep --parameters "@${params}" \
  --parameters stage=app hosting="$HOSTING"
