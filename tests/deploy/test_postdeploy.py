"""scripts/postdeploy_eventgrid.sh writes the subscription with a retry
policy and identity-based dead-lettering, for both hosting options. The
request body is built by the script's own Python part, run here."""

import json
import os
import re
import subprocess
import sys

from tests.deploy.support import read

SCRIPT = "scripts/postdeploy_eventgrid.sh"


def test_subscription_body_has_retry_policy_and_dead_letter():
    body_program = re.search(r"<<'PY'\n(.*?)\nPY\n", read(SCRIPT), flags=re.S).group(1)
    env = dict(
        os.environ,
        ENDPOINT="https://app.example/runtime/webhooks/eventgrid?functionName=acs_events&code=k",
        EVENT_TYPES="Microsoft.Communication.CallEnded Microsoft.Communication.CallStarted",
        MAX_DELIVERY_ATTEMPTS="30",
        EVENT_TTL_MINUTES="1440",
        DEADLETTER_STORAGE_ID="/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/stfn",
        DEADLETTER_CONTAINER="eventgrid-deadletter",
    )
    result = subprocess.run([sys.executable, "-c", body_program], env=env, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    properties = json.loads(result.stdout)["properties"]
    assert properties["retryPolicy"] == {"maxDeliveryAttempts": 30, "eventTimeToLiveInMinutes": 1440}
    dead_letter = properties["deadLetterWithResourceIdentity"]
    assert dead_letter["identity"] == {"type": "SystemAssigned"}
    assert dead_letter["deadLetterDestination"]["properties"]["blobContainerName"] == "eventgrid-deadletter"
    assert properties["filter"]["includedEventTypes"] == [
        "Microsoft.Communication.CallEnded",
        "Microsoft.Communication.CallStarted",
    ]
    assert properties["destination"]["endpointType"] == "WebHook"


def test_script_serves_both_hosting_options_and_never_prints_the_key():
    text = read(SCRIPT)
    assert "az functionapp keys list" in text and "az containerapp function keys list" in text
    code = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    echoes = [line for line in code if re.search(r"\becho\b", line) and "add-mask" not in line]
    assert not any("${key}" in line or "$key" in line for line in echoes)
    result = subprocess.run(
        ["bash", "-n", SCRIPT],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
    )
    assert result.returncode == 0, result.stderr
