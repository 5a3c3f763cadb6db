"""Issue 24, infra side: the operations workbook and the alert rules, read
as text and JSON (no Bicep compiler, no Azure). What only Azure can check
(the queries run against live tables, the workbook renders) is the deploy
workflow's validate stage and docs/OPERATIONS.md says so."""

import json
import re

import pytest

from tests.deploy.support import ROOT, read

MAIN = "infra/main.bicep"
ALERTS = "infra/modules/alerts.bicep"
WORKBOOK_MODULE = "infra/modules/workbook.bicep"
WORKBOOK_JSON = "infra/workbooks/operations.json"

# The metrics the app emits (docs/OPERATIONS.md, "What is measured").
METRICS = [
    "http.server.request.duration",
    "talenti.ai.call.duration",
    "talenti.ai.tokens",
    "talenti.ai.cost",
    "talenti.ai.budget.refused",
    "talenti.scoring.run.duration",
    "talenti.db.pool.wait",
    "talenti.db.pool.exhausted",
    "talenti.rate_limit.refused",
    "talenti.events.processed",
    "talenti.retention.items",
]


def _kql_items(node) -> list[dict]:
    """Every query item (type 3) of a workbook, groups included."""
    found = []
    if isinstance(node, dict):
        if node.get("type") == 3:
            found.append(node)
        for value in node.values():
            found += _kql_items(value)
    elif isinstance(node, list):
        for value in node:
            found += _kql_items(value)
    return found


def _workbook() -> dict:
    return json.loads(read(WORKBOOK_JSON))


# ---------------------------------------------------------------- which modules deploy where


def _module_conditions(main: str) -> dict[str, str]:
    return {
        name: condition or "true"
        for name, condition in re.findall(r"^module (\w+) '[^']+' = (?:if \((.+?)\) )?\{", main, flags=re.M)
    }


def deployed_modules(main: str, hosting: str, stage: str) -> set[str]:
    """The modules a deployment creates for a hosting option and stage, by
    evaluating each module's condition over the two switches (conditions
    here use only isApp, isFlex, deploySpeech and deployOpenAI)."""
    names = {
        "isApp": stage == "app",
        "isFlex": hosting == "flex",
        "deploySpeech": True,
        "deployOpenAI": True,
        "true": True,
    }
    out = set()
    for module, condition in _module_conditions(main).items():
        expression = condition.replace("&&", " and ").replace("||", " or ")
        expression = re.sub(r"!(?!=)", " not ", expression)
        assert re.fullmatch(r"[\w\s()]+", expression), condition
        if eval(expression, {"__builtins__": {}}, names):  # noqa: S307  (only the names above)
            out.add(module)
    return out


def test_module_evaluation_sees_hosting_specific_modules():
    main = read(MAIN)
    assert "functionApp" in deployed_modules(main, "flex", "app")
    assert "functionApp" not in deployed_modules(main, "containerapps", "app")
    assert "containerApp" in deployed_modules(main, "containerapps", "app")
    assert "registry" in deployed_modules(main, "containerapps", "bootstrap")


@pytest.mark.parametrize("hosting", ["flex", "containerapps"])
def test_workbook_and_alerts_are_deployed_with_either_hosting_option(hosting):
    main = read(MAIN)
    assert {"workbook", "alerts", "monitoring"} <= deployed_modules(main, hosting, "app")
    # Like the alerts, the workbook comes with the app stage only.
    assert not {"workbook", "alerts"} & deployed_modules(main, hosting, "bootstrap")


def test_workbook_module_is_sourced_on_the_application_insights_component():
    main = read(MAIN)
    block = re.search(r"^module workbook 'modules/workbook\.bicep' = .*?^\}$", main, flags=re.M | re.S).group(0)
    assert "appInsightsName: monitoring.outputs.appInsightsName" in block
    module = read(WORKBOOK_MODULE)
    assert "resource workbook 'Microsoft.Insights/workbooks@" in module
    assert "sourceId: appInsights.id" in module
    assert "kind: 'shared'" in module and "category: 'workbook'" in module
    # A workbook's name must be a GUID: a stable one, so redeploying updates it.
    assert re.search(r"name: guid\(resourceGroup\(\)\.id, appInsightsName, '[\w-]+'\)", module)
    loaded = re.search(r"serializedData: loadTextContent\('([^']+)'\)", module).group(1)
    assert (ROOT / "infra/modules" / loaded).resolve() == (ROOT / WORKBOOK_JSON).resolve()


# ---------------------------------------------------------------- the workbook's charts


def test_workbook_is_a_notebook_with_a_time_range():
    workbook = _workbook()
    assert workbook["version"] == "Notebook/1.0"
    parameters = [p["name"] for item in workbook["items"] if item["type"] == 9 for p in item["content"]["parameters"]]
    assert "TimeRange" in parameters
    items = _kql_items(workbook)
    names = [item["name"] for item in items]
    assert len(names) == len(set(names)), "query names must be unique"
    for item in items:
        content = item["content"]
        assert content["resourceType"] == "microsoft.insights/components", item["name"]
        assert content["timeContextFromParameter"] == "TimeRange", item["name"]
        assert content["visualization"] in {"timechart", "barchart", "table", "piechart", "tiles"}, item["name"]


@pytest.mark.parametrize("metric", METRICS)
def test_workbook_charts_every_metric(metric):
    queries = [item["content"]["query"] for item in _kql_items(_workbook())]
    assert any(re.search(rf'name == "{re.escape(metric)}"', query) for query in queries), metric


def test_workbook_charts_what_the_issue_asks_per_dimension():
    queries = "\n".join(item["content"]["query"] for item in _kql_items(_workbook()))
    for dimension in (
        "http.route",
        "http.response.status_code",
        "purpose",
        "organisation",
        "token_type",
        "outcome",
        "bucket",
        "event_type",
        "kind",
    ):
        assert f'customDimensions["{dimension}"]' in queries, dimension
    # The host's own request telemetry and the model's 429s as dependencies.
    assert re.search(r"^requests\n", queries, flags=re.M)
    assert 'dependencies | where resultCode == "429"' in queries


# ---------------------------------------------------------------- alert rules


def _log_alerts(text: str) -> dict[str, dict[str, str]]:
    body = re.search(r"^var logAlerts = \[\n(.*?)^\]$", text, flags=re.M | re.S).group(1)
    rules = {}
    for block in re.findall(r"^  \{\n(.*?)^  \}$", body, flags=re.M | re.S):
        fields = dict(re.findall(r"^    (\w+): (.+)$", block, flags=re.M))
        rules[fields["name"].strip("'")] = fields
    return rules


def _query(text: str, var: str) -> str:
    return re.search(rf"^var {var} = '''(.*?)'''", text, flags=re.M | re.S).group(1)


# rule -> what its query must read
REQUIRED_RULES = {
    "http-5xx-rate": ["requests", "toint(resultCode) >= 500"],
    "durable-orchestration-failures": ['"talenti.scoring.run.duration"', '== "failed"', '"Failed"'],
    "db-pool-exhausted": ['"talenti.db.pool.exhausted"'],
    "db-pooler-max-clients": ["max client connections"],
    "ai-model-throttled": ['resultCode == "429"', '"talenti.ai.call.duration"'],
    "ai-budget-refused": ['"talenti.ai.budget.refused"'],
    "ai-daily-cost": ['"talenti.ai.cost"'],
}


@pytest.mark.parametrize("rule", sorted(REQUIRED_RULES))
def test_alert_rule_exists_with_severity_and_what_to_do(rule):
    text = read(ALERTS)
    rules = _log_alerts(text)
    assert rule in rules, rule
    fields = rules[rule]
    assert 0 <= int(fields["severity"]) <= 4
    # The description tells the person paged what to do.
    assert "Do: " in fields["description"], rule
    query = _query(text, fields["query"])
    for needle in REQUIRED_RULES[rule]:
        assert needle in query, (rule, needle)


def test_every_rule_carries_the_fields_the_loop_reads():
    text = read(ALERTS)
    rules = _log_alerts(text)
    expected = {
        "name",
        "description",
        "severity",
        "query",
        "timeAggregation",
        "metricMeasureColumn",
        "threshold",
        "windowSize",
        "evaluationFrequency",
    }
    for name, fields in rules.items():
        assert set(fields) == expected, name
        if fields["metricMeasureColumn"] != "''":
            # A measured rule reads a column its query computes.
            column = fields["metricMeasureColumn"].strip("'")
            assert re.search(rf"(summarize|extend) .*\b{column} = ", _query(text, fields["query"])), name
    loop = re.search(r"resource logAlertRules .*?^\}\]$", text, flags=re.M | re.S).group(0)
    assert "evaluationFrequency: rule.evaluationFrequency" in loop and "windowSize: rule.windowSize" in loop
    assert "actionGroups: actionGroups" in loop
    # Every query variable is used by a rule (extended, not duplicated).
    declared = set(re.findall(r"^var (\w+Query) = '''", text, flags=re.M))
    assert declared == {fields["query"] for fields in rules.values()}


def test_spend_rule_reads_a_day_against_a_parameter_main_passes():
    rules = _log_alerts(read(ALERTS))
    cost = rules["ai-daily-cost"]
    assert cost["threshold"] == "aiDailyCostUsd"
    assert cost["windowSize"] == "'P1D'" and cost["timeAggregation"] == "'Total'"
    assert "aiDailyCostUsd: aiDailyCostAlertUsd" in read(MAIN)
    assert rules["ai-model-throttled"]["threshold"] == "modelThrottledCalls"


def test_both_hosting_options_export_the_app_telemetry_to_application_insights():
    """The settings are one set for both options (test_bicep); this one turns
    the app's exporter on and points it at the component, by identity."""
    main = read(MAIN)
    host = re.search(r"^var hostSettings = \{\n(.*?)^\}$", main, flags=re.M | re.S).group(1)
    assert "TELEMETRY_EXPORTER: 'azure'" in host
    assert "APPLICATIONINSIGHTS_CONNECTION_STRING: monitoring.outputs.connectionString" in host
    assert "Authorization=AAD" in host
    assert "var appSettings = union(plainSettings, hostSettings," in main


def _balanced(query: str) -> bool:
    """Brackets balance and strings close, outside string literals."""
    depth, quote, i = [], None, 0
    pairs = {")": "(", "]": "[", "}": "{"}
    while i < len(query):
        char = query[i]
        if quote:
            if char == "\\":
                i += 1
            elif char == quote:
                quote = None
        elif char in "\"'":
            quote = char
        elif char in "([{":
            depth.append(char)
        elif char in pairs:
            if not depth or depth.pop() != pairs[char]:
                return False
        i += 1
    return not depth and quote is None


def test_balance_check_sees_a_broken_query():
    assert _balanced('customMetrics | where name == "x" | summarize sum(valueSum) by bin(timestamp, 1h)')
    assert not _balanced('customMetrics | where name == "x | summarize count()')
    assert not _balanced("union (requests | take 1")


def test_queries_are_well_formed_and_name_only_declared_parameters():
    workbook = _workbook()
    declared = {p["name"] for item in workbook["items"] if item["type"] == 9 for p in item["content"]["parameters"]}
    for item in _kql_items(workbook):
        query = item["content"]["query"]
        assert _balanced(query.replace("{TimeRange:grain}", "1h")), item["name"]
        for placeholder in re.findall(r"\{(\w+)(?::\w+)?\}", query):
            assert placeholder in declared, (item["name"], placeholder)
    text = read(ALERTS)
    for var in re.findall(r"^var (\w+Query) = '''", text, flags=re.M):
        assert _balanced(_query(text, var)), var


def test_operations_doc_covers_every_metric_and_alert_rule():
    doc = read("docs/OPERATIONS.md")
    for metric in METRICS:
        assert f"`{metric}`" in doc, metric
    for rule in _log_alerts(read(ALERTS)):
        assert f"| `{rule}` |" in doc, rule
    for rule in ("eventgrid-dead-letters-*", "health-availability-*"):
        assert f"| `{rule}` |" in doc, rule
    for setting in ("APPLICATIONINSIGHTS_CONNECTION_STRING", "TELEMETRY_EXPORTER", ".local/telemetry"):
        assert setting in doc, setting
    assert "docs/OPERATIONS.md" in read("README.md")
