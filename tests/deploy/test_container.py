"""The image: its build context holds what the app needs at run time and
nothing else, the Dockerfile passes hadolint, runs as root as Microsoft's
Functions images expect (or as a user that owns every path the host writes)
and checks its own liveness. No Docker engine here: the rules are read from
the files."""

import ast
import re
import subprocess

import pytest

from tests.deploy.support import ROOT, VENV_BIN, DockerIgnore, dockerfile_instructions, read

FORBIDDEN = (
    ".env",
    ".env.local",
    ".env.production",
    ".local/pg/data/postgresql.conf",
    ".venv/bin/python",
    ".venv-checkov/bin/checkov",
    "node_modules/azurite/package.json",
    "tests/conftest.py",
    "tests/deploy/test_container.py",
    "local.settings.json",
    "shared/local.settings.json",
    "shared/.env",
    ".azure/talenti-dev/.env",
    ".git/config",
    "shared/__pycache__/config.cpython-311.pyc",
)


@pytest.fixture(scope="module")
def rules():
    return DockerIgnore(read(".dockerignore"))


@pytest.fixture(scope="module")
def context(rules):
    return rules.context()


def test_context_holds_what_the_app_needs_at_run_time(context):
    needed = ["function_app.py", "host.json", "requirements.txt"]
    needed += [f"blueprints/{p.name}" for p in (ROOT / "blueprints").glob("*.py")]
    needed += [
        p.relative_to(ROOT).as_posix()
        for p in (ROOT / "shared").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and not p.name.startswith(".env")
    ]
    migrations = [p.relative_to(ROOT).as_posix() for p in (ROOT / "infra/db/migrations").glob("*.sql")]
    assert migrations, "no migrations found"
    missing = [path for path in needed + migrations if path not in context]
    assert missing == []


def test_context_holds_no_secrets_local_state_or_tests(rules, context):
    assert [path for path in FORBIDDEN if not rules.excluded(path)] == []
    top_level = {path.split("/")[0] for path in context}
    assert top_level <= {"function_app.py", "host.json", "requirements.txt", "blueprints", "shared", "infra"}
    assert {path for path in context if path.startswith("infra/")} == {
        path for path in context if path.startswith("infra/db/migrations/")
    }


def test_code_in_the_image_imports_only_code_in_the_image(context):
    """A module the app imports from outside the context would fail at start-up."""
    project_packages = {p.name for p in ROOT.iterdir() if (p / "__init__.py").exists()}
    missing = []
    for path in sorted(p for p in context if p.endswith(".py")):
        tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module]
                if isinstance(node, ast.ImportFrom) and node.module and node.level == 0
                else []
            )
            for name in names:
                top = name.split(".")[0]
                if top in project_packages and f"{top}/__init__.py" not in context:
                    missing.append(f"{path}: {name}")
    assert missing == []


def test_rules_follow_docker_semantics():
    """The reader itself: last match wins, `!` re-includes below an excluded folder."""
    rules = DockerIgnore("infra\n!infra/db/migrations\n**/*.pyc\n")
    assert rules.excluded("infra/main.bicep")
    assert not rules.excluded("infra/db/migrations/001.sql")
    assert rules.excluded("shared/platform/db/x.pyc")
    assert not rules.excluded("shared/platform/db/x.py")
    # The defect this guards against: infra excluded whole, so no migrations.
    assert DockerIgnore("infra\n").excluded("infra/db/migrations/001.sql")


def test_dockerfile_copies_the_context_into_the_script_root():
    instructions = dockerfile_instructions(read("Dockerfile"))
    env = " ".join(args for kind, args in instructions if kind == "ENV")
    assert "AzureWebJobsScriptRoot=/home/site/wwwroot" in env
    copies = [args.split() for kind, args in instructions if kind == "COPY"]
    assert [".", "/home/site/wwwroot"] in copies
    assert ["requirements.txt", "/tmp/requirements.txt"] in copies


# Where the Functions host writes at run time in Microsoft's base images, none of them
# writable for a user other than root (Azure/azure-functions-docker#1210: the secrets
# sentinel under /azure-functions-host/Secrets, which key management needs; #424:
# /azure-functions-host and /FuncExtensionBundles; the host's $HOME, /home).
HOST_WRITE_PATHS = ("/azure-functions-host", "/FuncExtensionBundles", "/home")
LIVENESS_URL = "http://127.0.0.1:8080/api/health/live"


def unwritable_host_paths(dockerfile: str) -> list[str]:
    """The host's write paths a non-root final USER would not own; [] when the image runs as root."""
    instructions = dockerfile_instructions(dockerfile)
    users = [args.split(":")[0] for kind, args in instructions if kind == "USER"]
    if not users or users[-1] in ("root", "0"):
        return []
    owned: set[str] = set()
    for kind, args in instructions:
        if kind != "RUN":
            continue
        for command in args.split("&&"):
            words = command.split()
            if words[:1] == ["chown"] and "-R" in words:
                owner = next(w for w in words[1:] if not w.startswith("-")).split(":")[0]
                if owner == users[-1]:
                    owned |= {w.rstrip("/") for w in words if w.startswith("/")}
    return [path for path in HOST_WRITE_PATHS if path not in owned]


def test_image_runs_as_root_or_owns_every_host_write_path():
    assert unwritable_host_paths(read("Dockerfile")) == []


def test_the_write_path_rule_sees_the_old_defect():
    base = "FROM mcr.microsoft.com/azure-functions/python:4-python3.11\nCOPY . /home/site/wwwroot\n"
    old = base + "RUN useradd --system --uid 10001 app\nUSER 10001:10001\n"
    assert unwritable_host_paths(old) == list(HOST_WRITE_PATHS)
    partly = old.replace("USER", "RUN chown -R 10001:10001 /azure-functions-host\nUSER")
    assert unwritable_host_paths(partly) == ["/FuncExtensionBundles", "/home"]
    fixed = old.replace(
        "USER",
        "RUN chown -R 10001:10001 /azure-functions-host /FuncExtensionBundles/ \\\n    && chown -R 10001 /home\nUSER",
    )
    assert unwritable_host_paths(fixed) == []
    assert unwritable_host_paths(base) == [] and unwritable_host_paths(base + "USER root\n") == []


def test_image_listens_on_8080_and_checks_its_liveness_only():
    instructions = dockerfile_instructions(read("Dockerfile"))
    env = " ".join(args for kind, args in instructions if kind == "ENV")
    assert "ASPNETCORE_URLS=http://+:8080" in env  # what the ingress and compose target
    assert ("EXPOSE", "8080") in instructions
    healthchecks = [args for kind, args in instructions if kind == "HEALTHCHECK"]
    assert len(healthchecks) == 1 and "NONE" not in healthchecks[0]
    # Liveness: /api/health would restart a healthy container during a database blip.
    urls = re.findall(r"https?://[^'\" ]+", healthchecks[0])
    assert urls == [LIVENESS_URL]


def test_a_root_image_says_why_for_checkov():
    """checkov's CKV_DOCKER_3 (a user exists) fails a root image; the skip must carry its reason."""
    text = read("Dockerfile")
    if unwritable_host_paths(text) == [] and not [a for k, a in dockerfile_instructions(text) if k == "USER"]:
        assert re.search(r"^# checkov:skip=CKV_DOCKER_3: \S.+", text, re.MULTILINE)


def test_dockerfile_passes_hadolint():
    result = subprocess.run(
        [str(VENV_BIN / "hadolint"), "--no-color", str(ROOT / "Dockerfile")], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
