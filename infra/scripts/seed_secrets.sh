#!/usr/bin/env bash
# Seed the application secrets into Key Vault before the app that reads them
# is created (Container Apps fails a revision whose Key Vault secret is
# missing; Flex starts without DATABASE_URL and never publishes the Event
# Grid key). Run by `provision.sh bootstrap` (CI: values from the GitHub
# environment's secrets; azd: from the azd environment), or by an operator:
#   AZURE_KEY_VAULT_NAME=kv-talenti-... DATABASE_URL=... bash infra/scripts/seed_secrets.sh
# Each secret given in the environment (non-empty) is written; one not given
# keeps the vault's value. A required secret that is neither given nor in
# the vault stops the deploy here, with its name, rather than at the app.
# Values go through a private file, never argv or the log.
# The caller needs Key Vault Secrets Officer on the vault (the operators'
# group, main.bicep operatorGroupObjectId); a fresh assignment takes minutes
# to apply, so the first access is retried for up to SEED_TIMEOUT_SECONDS.
# Optional: SEED_REQUIRED (space-separated secret names; default below),
# SEED_TIMEOUT_SECONDS (default 600), SEED_RETRY_SECONDS (default 15).
set -euo pipefail

: "${AZURE_KEY_VAULT_NAME:?AZURE_KEY_VAULT_NAME is not set}"
vault="$AZURE_KEY_VAULT_NAME"

# Environment variable -> Key Vault secret (main.bicep, secretSettings).
mapping="
DATABASE_URL database-url
SUPABASE_JWT_SECRET supabase-jwt-secret
SUPABASE_SERVICE_ROLE_KEY supabase-service-role-key
SERVICE_API_KEY service-api-key
AI_API_KEY ai-api-key
ACS_WEBHOOK_SECRET acs-webhook-secret
ACS_WEBHOOK_SECRET_PREVIOUS acs-webhook-secret-previous
RESEND_API_KEY resend-api-key
AZURE_SPEECH_KEY azure-speech-key
"
# What the app references with the template's defaults (deployOpenAI false,
# supabaseJwtSecretEnabled true, a Speech account of our own).
required="${SEED_REQUIRED:-database-url supabase-service-role-key service-api-key ai-api-key acs-webhook-secret resend-api-key supabase-jwt-secret}"

deadline=$(( $(date +%s) + ${SEED_TIMEOUT_SECONDS:-600} ))
until existing="$(az keyvault secret list --vault-name "$vault" --query "[].name" -o tsv 2>/dev/null)"; do
  if [ "$(date +%s)" -ge "$deadline" ]; then
    echo "seed: no access to the secrets of $vault; is the caller in the operators' group (Key Vault Secrets Officer)?" >&2
    exit 1
  fi
  echo "seed: waiting for access to $vault (role assignment propagation)"
  sleep "${SEED_RETRY_SECONDS:-15}"
done

umask 077
file="$(mktemp)"
trap 'rm -f "$file"' EXIT
written=""
while read -r variable secret; do
  [ -n "$variable" ] || continue
  value="${!variable:-}"
  [ -n "$value" ] || continue
  printf '%s' "$value" > "$file"
  az keyvault secret set --vault-name "$vault" --name "$secret" --file "$file" --encoding utf-8 \
    --content-type text/plain --output none
  written="$written $secret"
done <<< "$mapping"
: > "$file"
echo "seed: wrote${written:- nothing} to $vault"

missing=""
for secret in $required; do
  case " $written " in *" $secret "*) continue ;; esac
  if ! grep -qx -- "$secret" <<< "$existing"; then
    missing="$missing $secret"
  fi
done
if [ -n "$missing" ]; then
  echo "seed: required secrets missing from $vault:$missing (set them in the GitHub environment or run this script with them)" >&2
  exit 1
fi
