"""The deployment scripts run against fake commands (az, curl, docker, sleep)
that answer by rule and log their calls: the outputs read whatever their
case, the bootstrap stage before the app, the secrets seeded before the app,
the sign-in checked first, image and port in one deployment, the Event Grid
subscription waited for."""

import json

import pytest

from tests.deploy.support import ROOT, FakeCommands, load_yaml

OUTPUTS_MIXED_CASE = {
    # ARM hands output names back in another case than the template's.
    "hosting": {"type": "String", "value": "flex"},
    "azurE_RESOURCE_group": {"type": "String", "value": "rg-talenti-dev"},
    "azure_function_app_name": {"type": "String", "value": "func-talenti-x"},
    "Service_Api_Uri": {"type": "String", "value": "https://func-talenti-x.azurewebsites.net"},
    "eventgrid_system_topic_name": {"type": "String", "value": "evgt"},
    "EVENTGRID_DEADLETTER_STORAGE_ID": {"type": "String", "value": "/subscriptions/s/x"},
    "eventgrid_deadletter_container": {"type": "String", "value": "eventgrid-deadletter"},
    "azure_container_registry_name": {"type": "String", "value": ""},
    "azure_container_registry_endpoint": {"type": "String", "value": ""},
    "azure_key_vault_name": {"type": "String", "value": "kv-talenti-x"},
    "azure_app_principal_id": {"type": "String", "value": "00000000-0000-0000-0000-000000000001"},
    "db_connections_budgeted": {"type": "Int", "value": 146},
}
SIGNED_IN = {"match": r"^account show", "answers": {"stdout": "{}"}}


@pytest.fixture
def parameters(tmp_path):
    """The dev parameter file with its REPLACE_ME values filled in."""
    text = (ROOT / "infra/main.parameters.dev.json").read_text().replace("REPLACE_ME", "filled")
    path = tmp_path / "parameters.json"
    path.write_text(text)
    return path


def _provision(tmp_path, parameters, stage, rules, extra_env=None):
    fake = FakeCommands(tmp_path, rules)
    github_env = tmp_path / "github_env"
    github_env.write_text("")
    env = {
        "PARAMETERS_FILE": str(parameters),
        "TARGET_ENV": "dev",
        "HOSTING": "flex",
        "AZURE_LOCATION": "australiaeast",
        "GITHUB_ENV": str(github_env),
        **(extra_env or {}),
    }
    result = fake.run(["bash", "infra/scripts/provision.sh", stage], env)
    published = dict(line.split("=", 1) for line in github_env.read_text().splitlines() if "=" in line)
    return result, fake, published


def test_provision_reads_outputs_whatever_their_case(tmp_path, parameters):
    rules = {
        "az": [
            SIGNED_IN,
            {"match": r"^deployment sub show", "answers": {"stdout": json.dumps(OUTPUTS_MIXED_CASE)}},
        ]
    }
    result, _, published = _provision(tmp_path, parameters, "app", rules)
    assert result.returncode == 0, result.stdout + result.stderr
    assert published["SERVICE_API_URI"] == "https://func-talenti-x.azurewebsites.net"
    assert published["AZURE_RESOURCE_GROUP"] == "rg-talenti-dev"
    assert published["EVENTGRID_DEADLETTER_CONTAINER"] == "eventgrid-deadletter"


def test_bootstrap_deploys_roles_then_seeds_secrets_then_waits(tmp_path, parameters):
    rules = {
        "az": [
            SIGNED_IN,
            {"match": r"^keyvault list", "answers": {"stdout": ""}},  # a fresh subscription
            {"match": r"^deployment sub show", "answers": {"stdout": json.dumps(OUTPUTS_MIXED_CASE)}},
            # The operator's role is not there yet, then it is.
            {"match": r"^keyvault secret list", "answers": [{"rc": 1, "stderr": "Forbidden"}, {"stdout": ""}]},
        ]
    }
    names = ("DATABASE_URL", "SUPABASE_SERVICE_ROLE_KEY", "SERVICE_API_KEY", "AI_API_KEY")
    names += ("ACS_WEBHOOK_SECRET", "RESEND_API_KEY", "SUPABASE_JWT_SECRET")
    secrets = {name: f"value-of-{name.lower()}-s3cr3t" for name in names}
    result, fake, published = _provision(tmp_path, parameters, "bootstrap", rules, secrets)
    assert result.returncode == 0, result.stdout + result.stderr
    calls = fake.calls()
    create = next(i for i, c in enumerate(calls) if c.startswith("deployment sub create"))
    assert "stage=bootstrap" in calls[create]
    first_secret = next(i for i, c in enumerate(calls) if c.startswith("keyvault secret set"))
    assert create < first_secret
    written = [c for c in calls if c.startswith("keyvault secret set")]
    assert len(written) == len(secrets)
    # Values travel in a file, never on the command line.
    assert all("--file" in c for c in written)
    assert not any(value in " ".join(calls) for value in secrets.values())
    assert published["AZURE_KEY_VAULT_NAME"] == "kv-talenti-x"
    # A fresh vault: the role assignments get time to propagate.
    assert any(c.strip() == "300" for c in fake.calls("sleep"))


def test_seeding_stops_on_a_required_secret_that_exists_nowhere(tmp_path):
    rules = {"az": [{"match": r"^keyvault secret list", "answers": {"stdout": "database-url\n"}}]}
    fake = FakeCommands(tmp_path, rules)
    result = fake.run(["bash", "infra/scripts/seed_secrets.sh"], {"AZURE_KEY_VAULT_NAME": "kv"})
    assert result.returncode != 0
    assert "service-api-key" in result.stderr and "database-url" not in result.stderr.split(":", 2)[-1]


def test_app_stage_is_retried_while_roles_propagate(tmp_path, parameters):
    rules = {
        "az": [
            SIGNED_IN,
            {"match": r"^deployment sub create", "answers": [{"rc": 1, "stderr": "Forbidden"}, {"stdout": ""}]},
            {"match": r"^deployment sub show", "answers": {"stdout": json.dumps(OUTPUTS_MIXED_CASE)}},
        ]
    }
    result, fake, _ = _provision(tmp_path, parameters, "app", rules)
    assert result.returncode == 0, result.stderr
    creates = [c for c in fake.calls() if c.startswith("deployment sub create")]
    assert len(creates) == 2 and all("stage=app" in c for c in creates)


@pytest.mark.parametrize(
    "script",
    [
        ["bash", "infra/scripts/provision.sh", "app"],
        ["bash", "infra/scripts/azd_hooks.sh", "preprovision"],
        ["bash", "infra/scripts/azd_hooks.sh", "postdeploy"],
    ],
)
def test_scripts_say_az_login_when_az_is_signed_out(tmp_path, parameters, script):
    rules = {"az": [{"match": r"^account show", "answers": {"rc": 1, "stderr": "Please run 'az login'"}}]}
    fake = FakeCommands(tmp_path, rules)
    env = {"PARAMETERS_FILE": str(parameters), "HOSTING": "flex", "AZURE_LOCATION": "australiaeast"}
    result = fake.run(script, env)
    assert result.returncode != 0
    assert "az login" in result.stderr
    assert not [c for c in fake.calls() if not c.startswith("account show")], "nothing else runs signed out"


def test_every_azd_hook_goes_through_the_sign_in_check():
    hooks = load_yaml("azure.yaml")["hooks"]
    assert {"preprovision", "postprovision", "predeploy", "postdeploy"} <= set(hooks)
    for name, hook in hooks.items():
        assert hook["posix"]["run"].strip() == f"bash ./infra/scripts/azd_hooks.sh {name}", name
    text = (ROOT / "infra/scripts/azd_hooks.sh").read_text()
    assert text.index("require_az_login\n") < text.index('case "$phase" in')


def test_azd_up_exits_zero_on_container_apps(tmp_path):
    """The predeploy hook no longer fails the run, and azd skips the code
    package on Container Apps by the service's condition."""
    fake = FakeCommands(tmp_path, {"az": [SIGNED_IN]})
    result = fake.run(["bash", "infra/scripts/azd_hooks.sh", "predeploy"], {"HOSTING": "containerapps"})
    assert result.returncode == 0, result.stderr
    api = load_yaml("azure.yaml")["services"]["api"]
    assert api["condition"] == "${DEPLOY_CODE_PACKAGE}"
    main = (ROOT / "infra/main.bicep").read_text()
    assert "output DEPLOY_CODE_PACKAGE string = isFlex ? 'true' : 'false'" in main


def test_container_image_and_port_change_in_one_deployment(tmp_path, parameters):
    rules = {
        "az": [
            SIGNED_IN,
            {"match": r"^deployment sub show", "answers": {"stdout": json.dumps(OUTPUTS_MIXED_CASE)}},
        ]
    }
    fake = FakeCommands(tmp_path, rules)
    env = {
        "PARAMETERS_FILE": str(parameters),
        "HOSTING": "containerapps",
        "AZURE_LOCATION": "australiaeast",
        "AZURE_CONTAINER_REGISTRY_NAME": "crtalenti",
        "AZURE_CONTAINER_REGISTRY_ENDPOINT": "crtalenti.azurecr.io",
        "AZURE_RESOURCE_GROUP": "rg",
        "AZURE_FUNCTION_APP_NAME": "ca-talenti",
        "IMAGE_TAG": "abc123",
        "GITHUB_ACTIONS": "true",
        "GITHUB_ENV": str(tmp_path / "github_env"),
    }
    result = fake.run(["bash", "infra/scripts/containerapp.sh", "deploy"], env)
    assert result.returncode == 0, result.stdout + result.stderr
    calls = fake.calls()
    assert not any(c.startswith("containerapp ingress update") for c in calls)
    assert not any(c.startswith("containerapp update") for c in calls)
    creates = [c for c in calls if c.startswith("deployment sub create")]
    assert len(creates) == 1
    assert "containerImage=crtalenti.azurecr.io/talenti-api:abc123" in creates[0] and "stage=app" in creates[0]
