"""Secrets stay out of git, the image and the deployment package."""

import pytest

from tests.deploy.support import DockerIgnore, gitignore_spec, gitignored, read

SECRETS = (".env", ".env.local", ".env.production", "local.settings.json", ".azure/talenti-dev/.env")


@pytest.mark.parametrize("path", SECRETS)
def test_secrets_are_ignored_by_git_docker_and_func(path):
    assert gitignored(gitignore_spec(".gitignore"), path), ".gitignore"
    assert gitignored(gitignore_spec(".funcignore"), path), ".funcignore"
    assert DockerIgnore(read(".dockerignore")).excluded(path), ".dockerignore"


def test_the_env_template_is_committed():
    assert not gitignored(gitignore_spec(".gitignore"), ".env.example")


def test_local_state_and_tools_stay_out_of_the_package():
    spec = gitignore_spec(".funcignore")
    for path in (
        ".venv/bin/python",
        ".venv-checkov/bin/checkov",
        ".local/pg/PG_VERSION",
        "node_modules/x/a.js",
        "tests/conftest.py",
        "devhost/server.py",
        "benchmarks/run_all.py",
        "requirements-model.txt",  # the embedded development model is never deployed
        ".github/workflows/ci.yml",
    ):
        assert gitignored(spec, path), path
    for path in (
        "function_app.py",
        "host.json",
        "requirements.txt",
        "blueprints/health.py",
        "shared/platform/config.py",
    ):
        assert not gitignored(spec, path), path
