# Shared by the deployment scripts (sourced, not run).

# The hooks and scripts call `az`, which signs in separately from `azd`
# (Azure/azure-dev#2975): without `az login` every call fails with a
# confusing message, so say so first.
require_az_login() {
  if ! command -v az >/dev/null 2>&1; then
    echo "deploy: the Azure CLI (az) is required: https://aka.ms/azure-cli" >&2
    return 1
  fi
  if ! az account show --output none >/dev/null 2>&1; then
    echo "deploy: the Azure CLI is not signed in. Run 'az login' (and 'az account set --subscription <id>'):" >&2
    echo "deploy: 'azd auth login' does not sign in 'az', unless azd uses it ('azd config set auth.useAzCliAuth true')." >&2
    return 1
  fi
}

# NAME=value lines for the wanted outputs of a deployment, read from the
# `properties.outputs` JSON on stdin. Azure Resource Manager does not keep the
# case of output names (Azure/azure-dev#512, Azure/bicep#9360): match them
# case-insensitively and print them in the case asked for.
#   az deployment sub show ... --query properties.outputs -o json | deployment_outputs NAME...
deployment_outputs() {
  python3 -c '
import json, sys
outputs = {name.lower(): value for name, value in (json.load(sys.stdin) or {}).items()}
missing = [name for name in sys.argv[1:] if name.lower() not in outputs]
if missing:
    sys.exit("deploy: the deployment has no output " + ", ".join(missing))
for name in sys.argv[1:]:
    value = outputs[name.lower()]
    value = value.get("value") if isinstance(value, dict) else value
    print(name + "=" + ("" if value is None else str(value)))
' "$@"
}

# Render infra/main.parameters.json (azd's file, ${VAR} and ${VAR=default}
# placeholders) from the environment, as azd does, into a plain parameters
# file for `az deployment`. Numbers and booleans become JSON numbers and
# booleans (ARM does not convert strings for int/bool parameters).
render_azd_parameters() {
  python3 - "$1" "$2" <<'PY'
import json, os, re, sys

source, target = sys.argv[1], sys.argv[2]
placeholder = re.compile(r"\$\{(\w+)(?:=([^}]*))?\}")
parameters = json.load(open(source))["parameters"]
rendered = {}
for name, entry in parameters.items():
    value = entry.get("value")
    if isinstance(value, str) and placeholder.fullmatch(value):
        match = placeholder.fullmatch(value)
        value = os.environ.get(match.group(1)) or (match.group(2) or "")
        if value in ("true", "false"):
            value = value == "true"
        elif re.fullmatch(r"-?\d+", value):
            value = int(value)
    rendered[name] = {"value": value}
doc = {
    "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#",
    "contentVersion": "1.0.0.0",
    "parameters": rendered,
}
with open(target, "w") as out:
    json.dump(doc, out)
PY
}

# The Event Grid subscription's resource id (for the smoke test).
eventgrid_subscription_id() {
  local subscription
  subscription="$(az account show --query id -o tsv)"
  echo "/subscriptions/${subscription}/resourceGroups/${AZURE_RESOURCE_GROUP}/providers/Microsoft.EventGrid/systemTopics/${EVENTGRID_SYSTEM_TOPIC_NAME}/eventSubscriptions/${EVENTGRID_SUBSCRIPTION_NAME:-acs-events-to-function}"
}
