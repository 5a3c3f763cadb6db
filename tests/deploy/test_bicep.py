"""Bicep, read as text (no Bicep compiler here): both hosting options from
shared modules, the Flex Consumption limits, the Container Apps registry and
secrets, and the alerts a cutover needs."""

import json
import re

import pytest

from tests.deploy.support import ROOT, bicep_param, read

MAIN = "infra/main.bicep"
FLEX = "infra/modules/functionapp.bicep"
ACA = "infra/modules/containerapp.bicep"


def decorator_value(decorators: list[str], name: str) -> int | None:
    for line in decorators:
        match = re.match(rf"@{name}\((-?\d+)\)", line)
        if match:
            return int(match.group(1))
    return None


@pytest.mark.parametrize("file", [MAIN, FLEX])
def test_flex_instance_count_goes_as_low_as_the_platform_allows(file):
    """Microsoft Learn, event-driven scaling, "Limit scale-out": the lowest
    maximum instance count on Flex Consumption is now 1 (it was 40); the
    connection budget, not the platform, bounds it."""
    decorators, default = bicep_param(read(file), "maximumInstanceCount")
    assert decorator_value(decorators, "minValue") == 1
    assert 1 <= int(default) < 40


def test_param_reader_sees_the_old_defect():
    old = "@description('x')\n@minValue(1)\n@maxValue(1000)\nparam maximumInstanceCount int = 40\n"
    assert decorator_value(bicep_param(old, "maximumInstanceCount")[0], "minValue") == 1


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_parameter_files_respect_the_flex_limits(env):
    values = {k: v["value"] for k, v in json.loads(read(f"infra/main.parameters.{env}.json"))["parameters"].items()}
    assert 1 <= values["maximumInstanceCount"] < 40
    assert values["alwaysReadyDurableInstances"] >= 1
    assert values["containerMinReplicas"] >= 1


def test_durable_group_has_an_always_ready_instance_by_default():
    for file in (MAIN, FLEX):
        decorators, default = bicep_param(read(file), "alwaysReadyDurableInstances")
        assert int(default) >= 1, file
    flex = read(FLEX)
    assert re.search(r"name: 'durable'\s+instanceCount: durableAlwaysReady", flex)
    assert "alwaysReadyDurableInstances: alwaysReadyDurableInstances" in read(MAIN)


def test_zone_redundancy_raises_every_always_ready_group_to_two():
    flex = read(FLEX)
    assert re.search(r"var minimumPerGroup = zoneRedundant \? 2 : 0", flex)
    assert re.search(r"var httpAlwaysReady = max\(alwaysReadyHttpInstances, minimumPerGroup\)", flex)
    assert re.search(r"var durableAlwaysReady = max\(alwaysReadyDurableInstances, minimumPerGroup\)", flex)
    assert "alwaysReady: alwaysReady" in flex and "zoneRedundant: zoneRedundant" in flex


def test_hosting_is_one_switch_and_the_options_share_settings_and_modules():
    main = read(MAIN)
    decorators, default = bicep_param(main, "hosting")
    assert default == "'flex'"
    assert re.search(r"@allowed\(\[\s+'flex'\s+'containerapps'\s+\]\)\s+param hosting string", main)
    assert re.search(r"module functionApp 'modules/functionapp\.bicep' = if \(isApp && isFlex\)", main)
    assert re.search(r"module registry '[^']+' = if \(!isFlex\)", main)
    for module in ("containerEnvironment", "containerApp"):
        assert re.search(rf"module {module} '[^']+' = if \(isApp && !isFlex\)", main), module
    # Identity, storage, Key Vault, ACS/Event Grid, monitoring: one module each, unconditional.
    for module in ("identity", "monitoring", "hostStorage", "dataStorage", "keyVault", "communication"):
        assert re.search(rf"^module {module} '[^']+' = \{{", main, flags=re.M), module
    # Both apps get the very same settings, secrets and identity.
    for line in (
        "appSettings: appSettings",
        "keyVaultSecrets: keyVaultSecrets",
        "identityId: identity.outputs.id",
        "keyVaultUri: keyVault.outputs.uri",
        "tags: appTags",
    ):
        assert main.count(line) == 2, line
    assert '"hosting": { "value": "${HOSTING=flex}" }' in read("infra/main.parameters.json")


def test_container_app_pulls_with_its_identity_and_reads_secrets_from_key_vault():
    aca = read(ACA)
    assert "kind: 'functionapp'" in aca
    assert re.search(r"registries: \[\s+\{\s+server: registryServer\s+identity: identityId\s+\}\s+\]", aca)
    assert "passwordSecretRef" not in aca
    assert re.search(r"keyVaultUrl: '\$\{keyVaultUri\}secrets/\$\{secret\.value\}'\s+identity: identityId", aca)
    assert "secretRef: secret.value" in aca
    decorators, default = bicep_param(aca, "minReplicas")
    assert decorator_value(decorators, "minValue") >= 1 and int(default) >= 1
    assert "WEBSITE_HOSTNAME" in aca
    registry = read("infra/modules/registry.bicep")
    assert "adminUserEnabled: false" in registry and "anonymousPullEnabled: false" in registry
    assert "var acrPull = '7f951dda-4ed3-4680-a7ca-43fe172d538d'" in registry
    assert re.search(r"principalId: appPrincipalId", registry)


def test_monitoring_covers_what_a_cutover_watches():
    alerts = read("infra/modules/alerts.bicep")
    for name in ("http-5xx-rate", "http-p95-latency", "function-failures", "durable-orchestration-failures"):
        assert f"name: '{name}'" in alerts, name
    assert "metricName: 'DeadLetteredCount'" in alerts
    assert "kind: 'standard'" in alerts and "RequestUrl: healthUrl" in alerts
    assert "WebtestLocationAvailabilityCriteria" in alerts
    assert re.search(r"emailAddress: alertEmail", alerts)
    assert bicep_param(read(MAIN), "alertEmail")[1] == "''"
    assert "healthUrl: '${appUri}/api/health/ready'" in read(MAIN)
    # Names and descriptions say what is called: no bare /api/health left.
    assert not re.findall(r"/api/health(?![/\w])", alerts)


def test_event_grid_dead_letters_go_to_a_container_the_topic_may_write():
    communication = read("infra/modules/communication.bicep")
    assert re.search(r"identity: \{\s+type: 'SystemAssigned'\s+\}", communication)
    assert "principalId: systemTopic.identity.principalId" in communication
    assert "scope: deadLetterContainer" in communication
    assert "deadLetterContainer\n    ]" in read(MAIN) or re.search(
        r"containers: \[\s+deploymentContainer\s+deadLetterContainer", read(MAIN)
    )


def test_every_bicep_module_is_used():
    main = read(MAIN)
    modules = {p.name for p in (ROOT / "infra/modules").glob("*.bicep")}
    used = set(re.findall(r"'modules/([\w-]+\.bicep)'", main))
    assert modules == used


def _module_calls(main: str) -> list[tuple[str, set[str]]]:
    """(module file, parameter names passed) for each module of main.bicep."""
    calls = []
    for block in re.findall(r"^module .*?^\}$", main, flags=re.M | re.S):
        module = re.match(r"module \w+ '(modules/[\w-]+\.bicep)'", block).group(1)
        params = re.search(r"^  params: \{\n(.*?)^  \}$", block, flags=re.M | re.S).group(1)
        calls.append((module, set(re.findall(r"^    (\w+):", params, flags=re.M))))
    return calls


def test_module_calls_match_the_modules_parameters():
    """What `bicep build` would refuse: unknown parameters, missing required ones."""
    calls = _module_calls(read(MAIN))
    assert len(calls) == len(re.findall(r"^module ", read(MAIN), flags=re.M)) >= 12
    problems = []
    for module, passed in calls:
        text = read(f"infra/{module}")
        declared = dict(re.findall(r"^param (\w+) [\w.]+( = )?", text, flags=re.M))
        required = {name for name, default in declared.items() if not default}
        problems += [f"{module}: unknown {name}" for name in passed - set(declared)]
        problems += [f"{module}: missing {name}" for name in required - passed]
    assert problems == []


def test_module_outputs_used_by_main_exist():
    main = read(MAIN)
    files = dict(re.findall(r"^module (\w+) '(modules/[\w-]+\.bicep)'", main, flags=re.M))
    missing = []
    for symbol, output in sorted(set(re.findall(r"\b(\w+)\.outputs\.(\w+)", main))):
        declared = re.findall(r"^output (\w+) ", read(f"infra/{files[symbol]}"), flags=re.M)
        if output not in declared:
            missing.append(f"{symbol}.outputs.{output}")
    assert missing == []


# ---------------------------------------------------------------- issue 22: bootstrap, probes, identity, budget


def _module_conditions(main: str) -> dict[str, str]:
    """module symbol -> its condition ('' when unconditional)."""
    return {
        name: condition or ""
        for name, condition in re.findall(r"^module (\w+) '[^']+' = (?:if \((.+?)\) )?\{", main, flags=re.M)
    }


def test_bootstrap_stage_creates_every_role_assignment_and_no_app():
    """Role assignments exist (and propagate) before the app that reads with
    them is created: the app stage alone adds the apps and the alerts."""
    main = read(MAIN)
    assert re.search(r"@allowed\(\[\s+'bootstrap'\s+'app'\s+\]\)\s+param stage string = 'app'", main)
    conditions = _module_conditions(main)
    app_only = {name for name, condition in conditions.items() if "isApp" in condition}
    assert app_only == {"functionApp", "containerEnvironment", "containerApp", "alerts", "workbook"}
    files = dict(re.findall(r"^module (\w+) '(modules/[\w-]+\.bicep)'", main, flags=re.M))
    granting = {
        name for name, file in files.items() if "Microsoft.Authorization/roleAssignments" in read(f"infra/{file}")
    }
    assert granting and not granting & app_only, granting & app_only


def test_operators_group_may_write_secrets_before_the_app_exists():
    vault = read("infra/modules/keyvault.bicep")
    assert re.search(
        r"resource operatorGroupOfficer '[^']+' = if \(!empty\(operatorGroupId\)\) \{.*?"
        r"roleDefinitions', secretsOfficer\).*?principalId: operatorGroupId\s+principalType: 'Group'",
        vault,
        flags=re.S,
    )
    assert "operatorGroupId: operatorGroupObjectId" in read(MAIN)
    for env in ("dev", "prod"):
        parameters = json.loads(read(f"infra/main.parameters.{env}.json"))["parameters"]
        # provision.sh refuses REPLACE_ME: the operator must name the group.
        assert parameters["operatorGroupObjectId"]["value"].startswith("REPLACE_ME"), env
    assert '"operatorGroupObjectId": { "value": "${AZURE_OPERATOR_GROUP_ID=}" }' in read("infra/main.parameters.json")


def test_container_probes_split_liveness_from_readiness():
    aca = read(ACA)
    probes = re.search(r"var httpProbes = \[(.*?)\n\]", aca, flags=re.S).group(1)
    kinds = dict(re.findall(r"type: '(\w+)'\s+httpGet: \{\s+path: '([^']+)'", probes))
    assert kinds == {"Liveness": "/api/health/live", "Readiness": "/api/health/ready", "Startup": "/api/health/live"}
    assert "probes: runningPlaceholder ? placeholderProbes : httpProbes" in aca
    # Container Apps' ranges: failure threshold 1 to 10, initial delay 0 to 60 s.
    assert all(1 <= int(n) <= 10 for n in re.findall(r"failureThreshold: (\d+)", probes))
    assert all(0 <= int(n) <= 60 for n in re.findall(r"initialDelaySeconds: (\d+)", probes))
    numbers = {
        kind: {key: int(value) for key, value in re.findall(r"(\w+Seconds|failureThreshold): (\d+)", body)}
        for kind, body in re.findall(r"type: '(\w+)'(.*?)\n  \}", probes, flags=re.S)
    }
    # The health routes' numbers: 120 s to start, /ready's 3 s checks within a 5 s timeout.
    assert numbers["Startup"]["periodSeconds"] * numbers["Startup"]["failureThreshold"] == 120
    assert numbers["Liveness"] == {"periodSeconds": 30, "timeoutSeconds": 5, "failureThreshold": 3}
    assert numbers["Readiness"] == {"periodSeconds": 15, "timeoutSeconds": 5, "failureThreshold": 3}


def test_container_environment_logs_through_azure_monitor_without_the_workspace_key():
    env = read("infra/modules/containerenvironment.bicep")
    assert re.search(r"appLogsConfiguration: \{\s+destination: 'azure-monitor'\s+\}", env)
    assert "sharedKey" not in env and "listKeys" not in env
    assert re.search(r"diagnosticSettings@[\w-]+' = \{\s+scope: environment", env)
    assert "workspaceId: logAnalyticsWorkspaceId" in env


def test_acs_and_speech_are_reached_by_entra_id_without_keys():
    speech = read("infra/modules/speech.bicep")
    communication = read("infra/modules/communication.bicep")
    main = read(MAIN)
    assert "customSubDomainName: name" in speech and "disableLocalAuth: true" in speech
    assert "listKeys" not in speech and "principalId: speechPrincipalId" in speech
    assert "listKeys" not in communication and "principalId: appPrincipalId" in communication
    assert "ACS_CONNECTION_STRING" not in main
    assert "ACS_ENDPOINT: communication.outputs.endpoint" in main
    assert "CKV_AZURE_236" not in speech


def test_pool_starts_full_and_both_sizes_pass_the_budget():
    main = read(MAIN)
    assert "DB_POOL_MAX: string(checkedPoolMax)" in main
    assert "DB_POOL_MIN: string(checkedPoolMax)" in main


def test_pooler_client_limit_errors_raise_an_alert():
    alerts = read("infra/modules/alerts.bicep")
    assert "name: 'db-pooler-max-clients'" in alerts
    query = re.search(r"var poolerLimitQuery = '''(.*?)'''", alerts, flags=re.S).group(1)
    assert "max client connections" in query and "max_client_conn" in query
    assert re.search(
        r"query: poolerLimitQuery\s+timeAggregation: 'Count'\s+metricMeasureColumn: ''\s+threshold: 0", alerts
    )


# ---------------------------------------------------------------- issue 22: Speech's dedicated identity, ACS role

SPEECH_USER = "f2dc8367-1007-4938-bd23-fe263f013447"
CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c"


def _role_assignments(text: str) -> list[dict[str, str]]:
    """Each roleAssignments resource of a Bicep file: its scope, role id (var resolved) and principal."""
    roles = dict(re.findall(r"^var (\w+) = '([0-9a-f-]{36})'", text, flags=re.M))
    found = []
    for block in re.findall(
        r"^resource \w+ 'Microsoft\.Authorization/roleAssignments@[^']+' = .*?^\}$", text, flags=re.M | re.S
    ):
        role = re.search(r"roleDefinitions', (\w+)\)", block).group(1)
        found.append(
            {
                "scope": re.search(r"^  scope: (\S+)$", block, flags=re.M).group(1),
                "role": roles.get(role, role),
                "principal": re.search(r"principalId: (\S+)", block).group(1),
            }
        )
    return found


def _module_block(main: str, symbol: str) -> str:
    return re.search(rf"^module {symbol} '[^']+' = .*?^\}}$", main, flags=re.M | re.S).group(0)


def test_speech_identity_is_its_own_and_holds_only_speech_user_on_the_speech_account():
    """Browsers receive this identity's Entra token (audience: every Azure AI
    resource), so the app identity (Cognitive Services OpenAI User on Azure
    OpenAI) must never be it, and it may hold nothing but Speech User on Speech."""
    main = read(MAIN)
    speech = read("infra/modules/speech.bicep")
    # Its own identity, created in the bootstrap stage (unconditional module).
    assert re.search(r"^module speechIdentity 'modules/identity\.bicep' = \{", main, flags=re.M)
    assert "name: names.speechIdentity" in _module_block(main, "speechIdentity")
    # The Speech module gets the Speech identity's principal, never the app's.
    speech_call = _module_block(main, "speech")
    assert "speechPrincipalId: speechIdentity.outputs.principalId" in speech_call
    assert "identity.outputs.principalId" not in speech_call
    assert _role_assignments(speech) == [{"scope": "speech", "role": SPEECH_USER, "principal": "speechPrincipalId"}]
    # Nowhere else does the Speech identity get a role: its principal goes to one module, Speech.
    passed = re.findall(r"^    (\w+): speechIdentity\.outputs\.principalId$", main, flags=re.M)
    assert passed == ["speechPrincipalId"]
    # No module grants a Speech or generic Cognitive Services role to anyone else.
    for path in (ROOT / "infra/modules").glob("*.bicep"):
        if path.name == "speech.bicep":
            continue
        for assignment in _role_assignments(path.read_text()):
            assert assignment["role"] not in (SPEECH_USER, "a97b65f3-24c7-4388-baec-2e87ef14e908"), path.name


def test_both_apps_carry_the_speech_identity_and_its_settings():
    main = read(MAIN)
    assert main.count("speechIdentityId: speechIdentity.outputs.id") == 2
    for file in (FLEX, ACA):
        text = read(file)
        assert re.search(
            r"userAssignedIdentities: \{\s+'\$\{identityId\}': \{\}\s+'\$\{speechIdentityId\}': \{\}", text
        )
    assert "AZURE_SPEECH_CLIENT_ID: speechIdentity.outputs.clientId" in main
    assert "AZURE_SPEECH_REGION: deploySpeech ? location : speechRegion" in main
    # Our own account by Entra ID; an existing one by Entra ID when named, else by its key.
    assert "AZURE_SPEECH_ENDPOINT: deploySpeech ? speech.outputs.endpoint : speechEndpoint" in main
    assert "AZURE_SPEECH_RESOURCE_ID: deploySpeech ? speech.outputs.id : speechResourceId" in main
    assert re.search(r"var speechKeySetting = speechByEntra \? \{\} : \{\s+AZURE_SPEECH_KEY: 'azure-speech-key'", main)
    for name in ("speechEndpoint", "speechResourceId"):
        assert bicep_param(main, name)[1] == "''", name
    # The app's DefaultAzureCredential stays on the app identity.
    assert "AZURE_CLIENT_ID: identity.outputs.clientId" in main


def test_acs_grants_contributor_on_the_acs_resource_only():
    """Microsoft's Entra ID quickstart for the Identity SDK (create, token,
    delete identities) assigns Contributor; no Microsoft source says the
    narrower "Communication and Email Service Owner" covers those calls."""
    communication = read("infra/modules/communication.bicep")
    assert {"scope": "acs", "role": CONTRIBUTOR, "principal": "appPrincipalId"} in _role_assignments(communication)
    assert "09976791-48a7-449e-bb21-39d1a415f350" not in communication
