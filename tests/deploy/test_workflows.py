"""GitHub Actions: schema-valid workflows, actions pinned by commit, least
privilege, production from main only, the Container Apps stages in order,
and nothing run from a path the functions action deleted."""

import json
import os
import re
import subprocess
import sys

import pytest

from tests.deploy.support import ROOT, check_jsonschema, gitignore_spec, gitignored, load_yaml, read

WORKFLOWS = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / ".github/workflows").glob("*.y*ml"))
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
CHECKOUT_ROOTS = {"", ".", "./", "${{ github.workspace }}", "${{ github.workspace }}/"}


def jobs(workflow: str) -> dict:
    return load_yaml(workflow)["jobs"]


def test_workflows_match_the_github_workflow_schema():
    result = check_jsonschema("vendor.github-workflows", *WORKFLOWS)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("workflow", WORKFLOWS)
def test_every_action_is_pinned_to_a_commit(workflow):
    """A tag can be moved to other code; a commit id cannot. The tag stays in a comment."""
    unpinned = []
    for line in read(workflow).splitlines():
        match = re.match(r"^\s*(?:-\s*)?uses:\s*(\S+)(.*)$", line)
        if not match or match.group(1).startswith("./"):
            continue
        if not PINNED.match(match.group(1)) or not re.match(r"\s*# v\d", match.group(2)):
            unpinned.append(line.strip())
    assert unpinned == []


@pytest.mark.parametrize("workflow", WORKFLOWS)
def test_permissions_are_least_privilege(workflow):
    doc = load_yaml(workflow)
    assert doc.get("permissions") in ({}, {"contents": "read"}), "workflow-wide permissions beyond read"
    for name, job in doc["jobs"].items():
        permissions = job.get("permissions", {})
        assert permissions != "write-all" and isinstance(permissions, dict), name
        writes = {scope for scope, level in permissions.items() if level == "write"}
        signs_in = any(str(step.get("uses", "")).lower().startswith("azure/login@") for step in job.get("steps", []))
        assert writes == ({"id-token"} if signs_in else set()), f"{name}: {writes}"


def _plan_script() -> str:
    steps = jobs(".github/workflows/deploy.yml")["plan"]["steps"]
    return next(step["run"] for step in steps if step.get("id") == "plan")


def _plan(tmp_path, ref: str, environment: str, hosting_input: str = "", hosting_variable: str = ""):
    output = tmp_path / "output"
    output.write_text("")
    env = {
        "PATH": os.environ["PATH"],
        "GITHUB_REF": ref,
        "GITHUB_OUTPUT": str(output),
        "TARGET_ENV": environment,
        "HOSTING_INPUT": hosting_input,
        "HOSTING_VARIABLE": hosting_variable,
    }
    result = subprocess.run(["bash", "-e", "-c", _plan_script()], env=env, capture_output=True, text=True, timeout=30)
    return result.returncode, dict(line.split("=", 1) for line in output.read_text().splitlines())


def test_prod_is_deployed_from_main_only(tmp_path):
    assert _plan(tmp_path, "refs/heads/feature/x", "prod")[0] != 0
    assert _plan(tmp_path, "refs/tags/v1.0.0", "prod")[0] != 0
    assert _plan(tmp_path, "refs/heads/main", "prod") == (0, {"environment": "prod", "hosting": "flex"})
    assert _plan(tmp_path, "refs/heads/feature/x", "dev")[0] == 0


def test_hosting_comes_from_the_input_then_the_variable(tmp_path):
    assert _plan(tmp_path, "refs/heads/main", "dev", "", "containerapps")[1]["hosting"] == "containerapps"
    assert _plan(tmp_path, "refs/heads/main", "dev", "flex", "containerapps")[1]["hosting"] == "flex"
    assert _plan(tmp_path, "refs/heads/main", "dev", "", "kubernetes")[0] != 0


def test_every_deploying_job_waits_for_the_plan_and_the_tests():
    all_jobs = jobs(".github/workflows/deploy.yml")

    def ancestors(name):
        needs = all_jobs[name].get("needs", [])
        needs = [needs] if isinstance(needs, str) else needs
        return set(needs).union(*(ancestors(n) for n in needs)) if needs else set()

    deploying = [name for name, job in all_jobs.items() if "environment" in job]
    assert deploying
    for name in deploying:
        assert {"plan", "ci"} <= ancestors(name), name
        assert all_jobs[name]["environment"] == "${{ needs.plan.outputs.environment }}"
    assert "smoke" in all_jobs and {"deploy-flex", "deploy-containerapps"} <= ancestors("smoke")


def test_container_apps_stages_run_in_order():
    names = [step.get("name", "") for step in jobs(".github/workflows/deploy.yml")["deploy-containerapps"]["steps"]]
    order = [
        next(i for i, n in enumerate(names) if n.startswith(prefix))
        for prefix in (
            "Azure login",
            "Bootstrap",
            "Build the image",
            "Push the image to ACR",
            "Deploy to Container Apps",
            "Event Grid",
        )
    ]
    assert order == sorted(order)


def test_the_registry_is_reached_without_passwords():
    """OIDC sign-in, then `az acr login` trades it for a registry token."""
    job = jobs(".github/workflows/deploy.yml")["deploy-containerapps"]
    steps = " ".join(str(step.get("run", "")) + str(step.get("with", "")) for step in job["steps"])
    code = [line for line in read("infra/scripts/containerapp.sh").splitlines() if not line.lstrip().startswith("#")]
    for text in (steps, "\n".join(code)):
        assert not re.search(r"(?i)password|--username|admin-enabled|docker login", text)
    assert "az acr login --name" in "\n".join(code)


def _paths_run_after_packaging(workflow: dict) -> list[tuple[str, str, str]]:
    """(job, package folder, path) for each repository path a step uses after
    Azure/functions-action deleted the .funcignore matches from its package."""
    found = []
    for job_name, job in workflow["jobs"].items():
        package = None
        for step in job.get("steps", []):
            uses = str(step.get("uses", ""))
            if uses.lower().startswith("azure/functions-action@"):
                options = step.get("with", {})
                if str(options.get("respect-funcignore", "false")).lower() == "true":
                    package = str(options.get("package", ".")).strip()
                continue
            if package is None:
                continue
            text = " ".join(str(v) for v in (step.get("run"), step.get("uses"), step.get("with")) if v)
            for token in re.findall(r"[\w${}. /-]+", text):
                for candidate in token.split():
                    candidate = candidate.strip("'\"")
                    if (ROOT / candidate).exists() and candidate not in ("", ".", "./"):
                        found.append((job_name, package, candidate))
    return found


def _deleted_before_use(workflow: dict) -> list[str]:
    spec = gitignore_spec(".funcignore")
    return [
        f"{job}: {path}"
        for job, package, path in _paths_run_after_packaging(workflow)
        if package in CHECKOUT_ROOTS and gitignored(spec, path)
    ]


def test_deploy_runs_nothing_from_a_path_the_functions_action_deleted():
    workflow = load_yaml(".github/workflows/deploy.yml")
    assert _deleted_before_use(workflow) == []
    # And the package is never the checkout itself.
    packages = [
        step["with"]["package"]
        for job in workflow["jobs"].values()
        for step in job.get("steps", [])
        if str(step.get("uses", "")).lower().startswith("azure/functions-action@")
    ]
    assert packages and all(p.strip() not in CHECKOUT_ROOTS for p in packages)


def test_the_check_sees_the_old_defect():
    old = {
        "jobs": {
            "deploy": {
                "steps": [
                    {"uses": "Azure/functions-action@v1", "with": {"package": ".", "respect-funcignore": True}},
                    {"run": "bash scripts/postdeploy_eventgrid.sh"},
                ]
            }
        }
    }
    assert _deleted_before_use(old) == ["deploy: scripts/postdeploy_eventgrid.sh"]


# ---------------------------------------------------------------- issue 22: validate -> migrate -> deploy -> smoke


def _ancestors(all_jobs: dict, name: str) -> set[str]:
    needs = all_jobs[name].get("needs", [])
    needs = [needs] if isinstance(needs, str) else needs
    return set(needs).union(*(_ancestors(all_jobs, n) for n in needs)) if needs else set()


def test_stages_run_validate_then_migrate_then_deploy_then_smoke():
    all_jobs = jobs(".github/workflows/deploy.yml")
    assert "ci" in _ancestors(all_jobs, "validate")
    assert "validate" in _ancestors(all_jobs, "migrate")
    for deploy in ("deploy-flex", "deploy-containerapps"):
        assert {"validate", "migrate"} <= _ancestors(all_jobs, deploy), deploy
    assert {"deploy-flex", "deploy-containerapps", "migrate", "validate"} <= _ancestors(all_jobs, "smoke")
    # Jobs without an `if` run only when what they need succeeded: nothing skips a failed stage.
    for name in ("validate", "migrate"):
        assert "if" not in all_jobs[name], name


def test_validate_covers_both_hosting_options():
    validate = jobs(".github/workflows/deploy.yml")["validate"]
    assert validate["strategy"]["matrix"]["hosting"] == ["flex", "containerapps"]
    assert validate["env"]["HOSTING"] == "${{ matrix.hosting }}"
    runs = " ".join(str(step.get("run", "")) for step in validate["steps"])
    assert "bash infra/scripts/validate.sh" in runs
    assert "scripts/check_connection_budget.py" in runs


def test_validate_script_builds_validates_both_stages_and_runs_what_if(tmp_path):
    from tests.deploy.support import FakeCommands

    fake = FakeCommands(tmp_path, {"az": [{"match": r"^account show", "answers": {"stdout": "{}"}}]})
    params = tmp_path / "parameters.json"
    params.write_text((ROOT / "infra/main.parameters.dev.json").read_text().replace("REPLACE_ME", "filled"))
    env = {"PARAMETERS_FILE": str(params), "HOSTING": "containerapps", "AZURE_LOCATION": "australiaeast"}
    result = fake.run(["bash", "infra/scripts/validate.sh"], env)
    assert result.returncode == 0, result.stdout + result.stderr
    calls = [c for c in fake.calls() if not c.startswith("account show")]
    assert calls[0].startswith("bicep build --file infra/main.bicep")
    assert calls[1].startswith("deployment sub validate") and "stage=bootstrap hosting=containerapps" in calls[1]
    assert calls[2].startswith("deployment sub validate") and "stage=app hosting=containerapps" in calls[2]
    assert calls[3].startswith("deployment sub what-if") and "stage=app" in calls[3]


def test_validate_script_stops_on_a_budget_over_the_limit(tmp_path):
    from tests.deploy.support import FakeCommands

    fake = FakeCommands(tmp_path, {"az": [{"match": r"^account show", "answers": {"stdout": "{}"}}]})
    doc = json.loads((ROOT / "infra/main.parameters.dev.json").read_text().replace("REPLACE_ME", "filled"))
    doc["parameters"]["dbPoolMax"] = {"value": 50}
    params = tmp_path / "parameters.json"
    params.write_text(json.dumps(doc))
    env = {"PARAMETERS_FILE": str(params), "HOSTING": "flex", "AZURE_LOCATION": "australiaeast"}
    result = fake.run(["bash", "infra/scripts/validate.sh"], env)
    assert result.returncode != 0 and "over budget" in result.stderr
    assert not any(c.startswith("deployment") for c in fake.calls())


def test_migrations_run_as_their_own_gated_job_without_azure_access():
    all_jobs = jobs(".github/workflows/deploy.yml")
    migrate = all_jobs["migrate"]
    assert migrate["permissions"] == {"contents": "read"}
    assert migrate["environment"] == "${{ needs.plan.outputs.environment }}"
    step = next(s for s in migrate["steps"] if "shared.platform.migrate" in str(s.get("run", "")))
    assert step["run"].strip() == "python -m shared.platform.migrate"
    assert step["env"] == {"MIGRATIONS_DATABASE_URL": "${{ secrets.MIGRATIONS_DATABASE_URL }}", "APP_ENV": "production"}
    assert not any(str(s.get("uses", "")).lower().startswith("azure/login@") for s in migrate["steps"])


def test_smoke_test_runs_the_smoke_script_after_either_deploy():
    smoke = jobs(".github/workflows/deploy.yml")["smoke"]
    runs = " ".join(str(step.get("run", "")) for step in smoke["steps"])
    # A fresh revision may need a few minutes: 10 tries, 15 s apart (the script's own flags).
    assert (
        'python3 scripts/smoke.py "$SERVICE_API_URI" --attempts 10 --wait 15 --eventgrid-subscription "$EVENTGRID_SUBSCRIPTION_ID"'
        in runs
    )
    assert "deploy-flex.outputs.eventgrid-subscription" in smoke["env"]["EVENTGRID_SUBSCRIPTION_ID"]
    assert "deploy-containerapps.outputs.uri" in smoke["env"]["SERVICE_API_URI"]
    assert "/api/health" not in runs  # the script decides what to call (health/ready among them)


def test_every_job_that_checks_out_reads_contents_only():
    for name, job in jobs(".github/workflows/deploy.yml").items():
        steps = job.get("steps", [])
        if any(str(step.get("uses", "")).startswith("actions/checkout@") for step in steps):
            assert job["permissions"].get("contents") == "read", name


def test_application_secrets_reach_only_the_bootstrap_steps():
    for name, job in jobs(".github/workflows/deploy.yml").items():
        for step in job.get("steps", []):
            env = step.get("env", {}) or {}
            if "${{ secrets.DATABASE_URL }}" in env.values():
                assert step["name"].startswith("Bootstrap"), (name, step.get("name"))
                assert step["run"].strip() == "bash infra/scripts/provision.sh bootstrap"
        assert "secrets.DATABASE_URL" not in str(job.get("env", {})), name


def test_smoke_calls_use_only_flags_the_script_accepts_and_the_subscription_postdeploy_writes():
    usage = subprocess.run(
        [sys.executable, str(ROOT / "scripts/smoke.py"), "--help"], capture_output=True, text=True, check=True
    ).stdout
    accepted = set(re.findall(r"(--[\w-]+)", usage))
    calls = re.findall(
        r"scripts/smoke\.py[^\n]*", read(".github/workflows/deploy.yml") + read("infra/scripts/azd_hooks.sh")
    )
    assert len(calls) >= 2
    for call in calls:
        assert set(re.findall(r"(--[\w-]+)", call)) <= accepted, call
    # The id the smoke test reads names the subscription postdeploy_eventgrid.sh writes.
    default = re.search(
        r'SUB_NAME="\$\{EVENTGRID_SUBSCRIPTION_NAME:-([\w-]+)\}"', read("scripts/postdeploy_eventgrid.sh")
    )
    assert f"eventSubscriptions/${{EVENTGRID_SUBSCRIPTION_NAME:-{default.group(1)}}}" in read("infra/scripts/lib.sh")
