"""The connection budget: scripts/check_connection_budget.py accepts the
shipped parameter files and refuses a set over the pooler's limit, on either
hosting option; main.bicep counts the same way and fails the deployment."""

import json
import re
import subprocess
import sys

import pytest

from tests.deploy.support import ROOT, read

SCRIPT = ROOT / "scripts/check_connection_budget.py"


def _check(*files):
    return subprocess.run(
        [sys.executable, str(SCRIPT), *map(str, files)], capture_output=True, text=True, timeout=60, cwd=ROOT
    )


def _parameters(tmp_path, **values):
    doc = json.loads(read("infra/main.parameters.dev.json"))
    for name, value in values.items():
        doc["parameters"][name] = {"value": value}
    path = tmp_path / "main.parameters.test.json"
    path.write_text(json.dumps(doc))
    return path


def test_the_shipped_parameter_files_fit_their_budget():
    result = _check()
    assert result.returncode == 0, result.stderr
    # Three files, two hosting options each.
    assert result.stdout.count("ok: ") == 6


def test_a_parameter_set_over_the_pooler_limit_is_refused(tmp_path):
    # 40 instances x 4 groups x 5 connections: the repository's former Flex sizing.
    over = _parameters(tmp_path, maximumInstanceCount=40)
    result = _check(over)
    assert result.returncode == 1
    assert "over budget: main.parameters.test.json (flex)" in result.stderr
    assert "(containerapps)" not in result.stderr


def test_container_replicas_count_against_the_same_limit(tmp_path):
    result = _check(_parameters(tmp_path, containerMaxReplicas=40, dbPoolMax=5))
    assert result.returncode == 1 and "(containerapps)" in result.stderr


@pytest.mark.parametrize(
    ("values", "fits"),
    [
        ({"edgeFunctionsReserveConnections": 95}, False),  # 105 + 1 + 95 = 201 > 200
        ({"edgeFunctionsReserveConnections": 94}, True),  # exactly 200
        ({"dbPoolerMaxClientConnections": 400, "maximumInstanceCount": 15}, True),  # Small tier: 365
        ({"zoneRedundant": True, "edgeFunctionsReserveConnections": 94}, False),  # two always-ready per group
    ],
)
def test_every_part_of_the_budget_counts(tmp_path, values, fits):
    assert (_check(_parameters(tmp_path, **values)).returncode == 0) is fits


def test_the_template_refuses_the_same_combinations():
    """Same parameters, same formula, and a failing expression that only the
    over-budget branch evaluates."""
    main = read("infra/main.bicep")
    source = SCRIPT.read_text()
    names = re.search(r"NAMES = \((.*?)\)", source, flags=re.S).group(1)
    for name in re.findall(r'"(\w+)"', names):
        assert re.search(rf"^param {name} \w+", main, flags=re.M), name
    assert (
        "var flexInstances = maximumInstanceCount * flexScaleGroups + max(alwaysReadyHttpInstances, zoneMinimum)"
        " + max(alwaysReadyDurableInstances, zoneMinimum)"
    ) in main
    assert "var appConnections = dbPoolMax * (isFlex ? flexInstances : containerMaxReplicas)" in main
    assert "var budgetedConnections = appConnections + migrationConnections + edgeFunctionsReserveConnections" in main
    assert (
        "var checkedPoolMax = budgetedConnections <= dbPoolerMaxClientConnections ? dbPoolMax : int(budgetError)"
        in main
    )
    # The checked value is what the app and the outputs read, so the check cannot be skipped.
    assert "DB_POOL_MAX: string(checkedPoolMax)" in main
    assert "output DB_CONNECTIONS_BUDGETED int = checkedConnections" in main


def test_the_checker_sees_an_over_budget_file_in_the_old_sizing():
    """The former defaults (40 Flex instances, pool 5) were over the smallest tier's limit."""
    from importlib import util

    spec = util.spec_from_file_location("budget", SCRIPT)
    module = util.module_from_spec(spec)
    spec.loader.exec_module(module)
    defaults = module.bicep_defaults(read("infra/main.bicep"))
    values = {**defaults, "maximumInstanceCount": 40}
    assert module.budget(values, "flex")["total"] > 200
