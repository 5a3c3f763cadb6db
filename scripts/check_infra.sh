#!/usr/bin/env bash
# Static checks of the deployment files; no Azure access, no Docker.
#   1. every infra/**/*.bicep parses (pycep, the parser checkov uses; checkov
#      itself only counts parse errors and still exits 0),
#   2. checkov scans infra/ (bicep framework: both hosting options, skips
#      listed with reasons in infra/.checkov.yaml or inline), the Dockerfile
#      and the workflows,
#   3. the YAML and JSON files parse: workflows, azure.yaml,
#      docker-compose.yml, parameter files (whose names must be parameters of
#      main.bicep), parity corpus; the security baseline of both hosting
#      options is in the source; and the shell scripts pass `bash -n`.
# Schema validation (Compose specification, GitHub workflow schema), hadolint
# and the rules of tests/deploy run with the test suite (make test).
# checkov lives in its own virtualenv, .venv-checkov (created on first run,
# only PyPI needed). Usage: bash scripts/check_infra.sh
set -euo pipefail

CHECKOV_VERSION="3.3.30"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="$ROOT/.venv-checkov"

pick_python() {
  for candidate in "${PYTHON:-}" python3.11 python3; do
    if [ -n "$candidate" ] && command -v "$candidate" >/dev/null 2>&1; then
      command -v "$candidate"
      return 0
    fi
  done
  echo "check_infra: no python3 found" >&2
  return 1
}

installed_version() {
  "$VENV/bin/python" - <<'PY' 2>/dev/null || true
from importlib.metadata import version
print(version("checkov"))
PY
}

start=$(date +%s)
if [ ! -x "$VENV/bin/checkov" ] || [ "$(installed_version)" != "$CHECKOV_VERSION" ]; then
  echo "check_infra: installing checkov $CHECKOV_VERSION into .venv-checkov"
  "$(pick_python)" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "checkov==$CHECKOV_VERSION"
fi

# checkov: no update check, no download of policy metadata (offline machine).
export CKV_SKIP_PACKAGE_UPDATE_CHECK=true
export BC_SKIP_MAPPING=TRUE

echo "check_infra: [1/3] bicep files parse"
"$VENV/bin/python" - <<'PY'
import sys
from pathlib import Path
from pycep import BicepParser

parser = BicepParser()
files = sorted(Path("infra").rglob("*.bicep"))
if not files:
    sys.exit("check_infra: no .bicep files under infra/")
failed = 0
for path in files:
    try:
        parser.parse(file_path=path)
    except Exception as exc:  # lark raises several error types
        failed += 1
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"  PARSE ERROR {path}: {first}")
print(f"  {len(files) - failed}/{len(files)} bicep files parse")
sys.exit(1 if failed else 0)
PY

echo "check_infra: [2/3] checkov $CHECKOV_VERSION (bicep: flex and containerapps; dockerfile; github actions)"
"$VENV/bin/checkov" -d infra --framework bicep --skip-download --quiet --compact \
  --config-file infra/.checkov.yaml
# One run for the Dockerfile and the workflows (checkov's start-up dominates).
# CKV_GHA_7 (no workflow_dispatch inputs): deploy.yml's inputs pick the target
# environment and hosting option; the image and package are built from the
# commit alone.
workflow_files=()
for wf in .github/workflows/*.yml; do workflow_files+=(-f "$wf"); done
"$VENV/bin/checkov" -f Dockerfile "${workflow_files[@]}" --framework dockerfile github_actions \
  --skip-download --quiet --compact --skip-check CKV_GHA_7

echo "check_infra: [3/3] workflows, azure.yaml, compose, parameter files, scripts"
"$VENV/bin/python" - <<'PY'
import json
import re
import sys
from pathlib import Path

import yaml

errors = []

def load_yaml(path):
    try:
        with open(path, encoding="utf-8") as fh:
            return yaml.safe_load(fh)
    except Exception as exc:
        errors.append(f"{path}: does not parse: {exc}")
        return None

workflows = sorted(Path(".github/workflows").glob("*.y*ml"))
if not workflows:
    errors.append(".github/workflows: no workflow files")
for wf in workflows:
    doc = load_yaml(wf)
    if doc is None:
        continue
    # PyYAML reads the bare key `on` as the boolean True.
    if not isinstance(doc, dict) or not (("on" in doc) or (True in doc)) or "jobs" not in doc:
        errors.append(f"{wf}: a workflow needs `on` and `jobs`")
        continue
    for job_name, job in (doc.get("jobs") or {}).items():
        if not isinstance(job, dict) or not ("steps" in job or "uses" in job):
            errors.append(f"{wf}: job {job_name} has neither steps nor uses")
    text = wf.read_text(encoding="utf-8")
    # Secrets only as ${{ secrets.NAME }}: flag anything that looks inlined.
    for pattern in (r"AccountKey=", r"-----BEGIN", r"(?i)client[-_]secret\s*:\s*['\"]?[A-Za-z0-9~._-]{20,}"):
        if re.search(pattern, text):
            errors.append(f"{wf}: looks like an inlined secret ({pattern})")

azd = load_yaml("azure.yaml")
if azd is not None:
    api = (azd.get("services") or {}).get("api") or {}
    if api.get("host") != "function" or api.get("language") not in ("python", "py"):
        errors.append("azure.yaml: service api must be language python, host function")
    for hook in ("preprovision", "postdeploy", "postprovision", "predeploy"):
        if hook not in (azd.get("hooks") or {}):
            errors.append(f"azure.yaml: {hook} hook missing")

for extra in ("docker-compose.yml", "infra/.checkov.yaml"):
    if Path(extra).exists():
        load_yaml(extra)

main_bicep = Path("infra/main.bicep").read_text(encoding="utf-8")
declared = set(re.findall(r"^param\s+(\w+)\s", main_bicep, flags=re.M))
for pfile in sorted(Path("infra").glob("main.parameters*.json")):
    try:
        doc = json.loads(pfile.read_text(encoding="utf-8"))
    except Exception as exc:
        errors.append(f"{pfile}: does not parse: {exc}")
        continue
    unknown = sorted(set(doc.get("parameters", {})) - declared)
    if unknown:
        errors.append(f"{pfile}: not parameters of main.bicep: {', '.join(unknown)}")

# The app settings the app reads must all be set by the template.
infra_text = main_bicep + "".join(p.read_text(encoding="utf-8") for p in Path("infra/modules").glob("*.bicep"))
for setting in ("APP_ENV", "DATABASE_URL", "SUPABASE_URL", "SUPABASE_JWT_SECRET", "SUPABASE_SERVICE_ROLE_KEY",
                "SERVICE_API_KEY", "AI_API_KEY", "AI_BASE_URL", "AI_MODEL", "AI_SCORING_MODEL",
                "AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_DEPLOYMENT", "AZURE_OPENAI_API_VERSION",
                "ACS_ENDPOINT", "ACS_WEBHOOK_SECRET", "ACS_WEBHOOK_SECRET_PREVIOUS",
                "AZURE_SPEECH_KEY", "AZURE_SPEECH_REGION", "AZURE_SPEECH_ENDPOINT", "AZURE_SPEECH_RESOURCE_ID",
                "DB_POOL_MAX", "DB_POOL_MIN", "RESEND_API_KEY", "EMAIL_FROM", "SITE_URL",
                "RECORDINGS_ACCOUNT_URL", "RECORDINGS_CONTAINER", "CV_STORAGE", "CV_BUCKET",
                "RETENTION_SCHEDULE", "AUTO_SCORE_ON_CALL_END", "SCORE_WAIT_SECONDS", "CORS_ALLOWED_ORIGINS",
                "AZURE_CLIENT_ID", "PYTHON_ENABLE_INIT_INDEXING", "AzureWebJobsStorage__credential",
                "APPLICATIONINSIGHTS_CONNECTION_STRING", "TELEMETRY_EXPORTER", "PYTHON_ENABLE_OPENTELEMETRY",
                "AZURE_SPEECH_CLIENT_ID"):
    if not re.search(rf"\b{re.escape(setting)}\s*:", infra_text):
        errors.append(f"infra: app setting {setting} is not set by the template")

# Baseline the brief fixes, asserted on the source (checkov does not cover all of it).
baseline = {
    "infra/modules/storage.bicep": [r"allowBlobPublicAccess: false", r"minimumTlsVersion: 'TLS1_2'",
                                    r"supportsHttpsTrafficOnly: true", r"allowSharedKeyAccess: false",
                                    r"publicAccess: 'None'"],
    "infra/modules/functionapp.bicep": [r"httpsOnly: true", r"minTlsVersion: '1\.2'", r"ftpsState: 'Disabled'",
                                        r"name: 'FC1'", r"tier: 'FlexConsumption'", r"type: 'UserAssignedIdentity'",
                                        r"@Microsoft\.KeyVault\(SecretUri=",
                                        r"keyVaultReferenceIdentity: identityId", r"name: 'ftp'\s+properties: \{\s+allow: false",
                                        r"name: 'scm'\s+properties: \{\s+allow: false"],
    "infra/modules/containerapp.bicep": [r"kind: 'functionapp'", r"allowInsecure: false", r"type: 'UserAssigned'",
                                         r"server: registryServer\s+identity: identityId", r"keyVaultUrl: ",
                                         r"secretRef: "],
    "infra/modules/registry.bicep": [r"adminUserEnabled: false", r"anonymousPullEnabled: false",
                                     r"7f951dda-4ed3-4680-a7ca-43fe172d538d"],
    "infra/modules/keyvault.bicep": [r"enableRbacAuthorization: true", r"enablePurgeProtection: true"],
    "infra/main.bicep": [r"param location string = 'australiaeast'", r"param acsDataLocation string = 'Australia'",
                         r"pythonVersion: '3\.11'", r"AzureWebJobsStorage__credential: 'managedidentity'"],
}
for file, patterns in baseline.items():
    text = Path(file).read_text(encoding="utf-8")
    for pattern in patterns:
        if not re.search(pattern, text):
            errors.append(f"{file}: baseline setting missing: /{pattern}/")

for corpus in sorted(Path("scripts/parity_corpus").glob("*.json")):
    try:
        json.loads(corpus.read_text(encoding="utf-8"))
    except Exception as exc:
        errors.append(f"{corpus}: does not parse: {exc}")

for err in errors:
    print(f"  ERROR {err}")
print(f"  {len(workflows)} workflows, azure.yaml, parameter files, app settings, baseline: {'FAILED' if errors else 'ok'}")
sys.exit(1 if errors else 0)
PY

for script in scripts/*.sh infra/scripts/*.sh; do
  bash -n "$script"
done

# The connection budget of every parameter file, for both hosting options.
"$VENV/bin/python" scripts/check_connection_budget.py

echo "check_infra: all checks passed in $(( $(date +%s) - start ))s"
