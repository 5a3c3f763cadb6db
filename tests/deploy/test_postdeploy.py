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


def _postdeploy(tmp_path, states, timeout="30"):
    """Run the script with fake az/curl; the subscription's GETs answer `states` in turn."""
    from tests.deploy.support import FakeCommands

    failed_body = json.dumps(
        {"properties": {"provisioningState": "Failed", "error": "Webhook validation handshake failed for secret-key"}}
    )
    rules = {
        "az": [
            {"match": r"^functionapp show", "answers": {"stdout": "func-x.azurewebsites.net\n"}},
            {"match": r"^functionapp keys list", "answers": {"stdout": "secret-key\n"}},
            {"match": r"^cloud show", "answers": {"stdout": "https://management.azure.com/\n"}},
            {"match": r"^account show", "answers": {"stdout": "sub-id\n"}},
            {"match": r"^rest --method put", "answers": {"stdout": ""}},
            {"match": r"^rest --method get .*provisioningState", "answers": [{"stdout": s + "\n"} for s in states]},
            {"match": r"^rest --method get", "answers": {"stdout": failed_body}},
        ]
    }
    fake = FakeCommands(tmp_path, rules)
    env = {
        "AZURE_RESOURCE_GROUP": "rg",
        "AZURE_FUNCTION_APP_NAME": "func-x",
        "EVENTGRID_SYSTEM_TOPIC_NAME": "evgt",
        "EVENTGRID_DEADLETTER_STORAGE_ID": "/subscriptions/s/x",
        "EVENTGRID_DEADLETTER_CONTAINER": "eventgrid-deadletter",
        "HOSTING": "flex",
        "EVENTGRID_TIMEOUT_SECONDS": timeout,
    }
    return fake.run(["bash", SCRIPT], env), fake


def test_subscription_is_polled_until_it_succeeds(tmp_path):
    result, fake = _postdeploy(tmp_path, ["Creating", "AwaitingManualAction", "Succeeded"])
    assert result.returncode == 0, result.stderr
    polls = [c for c in fake.calls() if c.startswith("rest --method get") and "provisioningState" in c]
    assert len(polls) == 3


def test_a_failed_subscription_fails_the_deploy_with_its_reason(tmp_path):
    """`az rest PUT` answers before Event Grid validates the endpoint: a
    failed validation used to print success."""
    result, _ = _postdeploy(tmp_path, ["Creating", "Failed"])
    assert result.returncode != 0
    assert "Failed" in result.stderr and "handshake failed" in result.stderr
    assert "secret-key" not in result.stderr + result.stdout


def test_a_subscription_that_never_settles_times_out(tmp_path):
    result, _ = _postdeploy(tmp_path, ["Creating"], timeout="0")
    assert result.returncode != 0 and "still 'Creating'" in result.stderr
