"""Schemathesis against the local host, driven by the app's own OpenAPI document:
every operation, with valid credentials, seeded rows and every upstream on a
wire double, bounded in examples and time. No server error, no response outside
the document, no valid request rejected, and every deep path reached."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import uuid
from collections import Counter, defaultdict
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from tests.conftest import ROOT

MAX_EXAMPLES = 12  # per operation and phase
MAX_TIME_SECONDS = 180  # the whole run's budget (CI has 90 minutes for everything)
SEED = 20261130
# Operations that must have answered 2xx at least once: the run reached past
# validation, auth and lookups into the service.
DEEP = (
    "POST /api/organisations",
    "POST /api/ai/interviewer",
    "POST /api/ai/interviewer/stream",
    "POST /api/ai/extract-requirements",
    "POST /api/ai/parse-resume",
    "POST /api/ai/generate-shortlist",
    "POST /api/ai/score",
    "GET /api/ai/score/{interviewId}",
    "POST /api/ai/score/{interviewId}/review",
    "GET /api/me/data-export",
    "POST /api/acs/token",
    "POST /api/acs/webhook",
    "GET /api/azure/speech-token",
    "POST /api/invitations/send",
    "POST /api/admin/data-cleanup",
    "GET /api/reports/bias-audit",
    "POST /functions/v1/score-interview",
    "POST /functions/v1/parse-resume",
)
REPORT_DIR = ROOT / ".local" / "schemathesis"


def seeded_examples(seeded) -> dict[str, dict]:
    """Request bodies (by operationId, without the `_former` suffix) naming the seeded rows."""
    call_started = {
        "id": str(uuid.uuid4()),
        "eventType": "Microsoft.Communication.CallStarted",
        "subject": f"call/{seeded.server_call_id}",
        "eventTime": "2026-11-30T10:00:00Z",
        "dataVersion": "1.0",
        "data": {"serverCallId": seeded.server_call_id, "correlationId": str(uuid.uuid4()), "group": {"id": "g1"}},
    }
    return {
        "organisations": {
            "name": "Contract Org",
            "website": "https://example.test",
            "industry": "Analytics",
            "billing_email": "billing@example.test",
        },
        "ai_interviewer": {
            "messages": [
                {"role": "assistant", "content": "Why this role?"},
                {"role": "user", "content": "I like building data products."},
            ],
            "interviewId": str(seeded.own_interview),
            "isPractice": False,
        },
        "extract_requirements": {"jobDescription": "Analyst: SQL, dashboards, reports.", "jobTitle": "Analyst"},
        "parse_resume": {"filePath": seeded.cv_path, "userId": str(seeded.user)},
        "generate_shortlist": {"roleId": str(seeded.role), "limit": 5},
        "score_interview": {"interviewId": str(seeded.scored_interview)},
        "review_interview_score": {"decision": "confirm", "reason": "Checked against my notes"},
        "acs_token": {"scopes": ["voip"]},
        "acs_webhook": [call_started],
        "invitations_send": {
            "applicationId": str(seeded.application),
            "candidateEmail": "candidate@example.test",
            "expiresInDays": 7,
        },
        "data_cleanup": [
            {"action": "cleanup_recordings", "organisationId": str(seeded.organisation)},
            {"action": "process_deletion_requests", "organisationId": str(seeded.organisation)},
        ],
    }


def with_examples(document: dict, seeded) -> dict:
    """The served document plus examples that name seeded rows (schemathesis sends
    each in its examples phase); nothing else is changed."""
    examples = seeded_examples(seeded)
    examples["ai_interviewer_stream"] = examples["ai_interviewer"]
    for item in document["paths"].values():
        for operation in item.values():
            base = operation["operationId"].removesuffix("_post").removesuffix("_former")
            for parameter in operation.get("parameters", []):
                if parameter["name"] == "interviewId":
                    parameter["examples"] = {"seeded": {"value": str(seeded.scored_interview)}}
                elif parameter["name"] == "organisationId":  # the seeded user is its admin
                    parameter["examples"] = {"seeded": {"value": str(seeded.organisation)}}
                elif parameter["name"] == "name":  # the API page's assets
                    parameter["examples"] = {"stylesheet": {"value": "swagger-ui.css"}}
            media = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if media is None or base not in examples:
                continue
            values = examples[base] if base in ("data_cleanup",) else [examples[base]]
            media.pop("example", None)
            media["examples"] = {f"seeded{n}": {"value": value} for n, value in enumerate(values)}
    return document


def config_toml(credentials: dict[str, str]) -> str:
    return f"""
seed = {SEED}
max-time = {MAX_TIME_SECONDS}
workers = 2  # ast.parse serialised by _RUN_SCHEMATHESIS below

[generation]
max-examples = {MAX_EXAMPLES}
database = "none"
allow-x00 = false  # the document says: no NUL in strings (PostgreSQL cannot store it)

[checks]
enabled = true
# Off: the contract is lenient on purpose where JSON Schema cannot follow (pydantic's
# lax mode reads "5" as 5 and 0/1 or "yes" as booleans, limits apply after stripping,
# a UUID may come without hyphens), so some requests the document calls invalid are
# accepted. Invalid requests are still generated and every other check applies to them.
negative_data_rejection.enabled = false

[auth.openapi.supabaseToken]
bearer = "{credentials["token"]}"

[auth.openapi.serviceKey]
api_key = "{credentials["service_key"]}"

[auth.openapi.acsWebhookSecret]
api_key = "{credentials["webhook_secret"]}"

# A multipart upload of arbitrary bytes is a well-formed request whose file is not
# a PDF: 422, as the contract says.
[[operations]]
include-operation-id-regex = "^parse_resume"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "422", "429", "5xx"]

# `from` after `to` is a 400 that JSON Schema cannot express (two valid dates).
[[operations]]
include-operation-id-regex = "^bias_audit_report"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "429"]

# The same for the AI usage report (and a period of more than a year).
[[operations]]
include-operation-id-regex = "^ai_usage_report"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "429"]
"""


# Schemathesis's CLI with ast.parse behind a lock: hypothesis parses lambdas' source while it
# describes strategies, and CPython 3.11's AST constructor is not safe across threads (two
# workers made runs fail now and then with "SystemError: AST constructor recursion depth
# mismatch", python/cpython#106905); one worker instead ran out of time on a loaded machine.
_RUN_SCHEMATHESIS = """
import ast, sys, threading
_parse, _lock = ast.parse, threading.Lock()
def _locked_parse(*args, **kwargs):
    with _lock:
        return _parse(*args, **kwargs)
ast.parse = _locked_parse
from schemathesis.cli import schemathesis
sys.argv[0] = "schemathesis"
sys.exit(schemathesis())
"""


async def test_schemathesis_finds_nothing(contract_host, seeded, credentials, tmp_path):
    async with httpx.AsyncClient(base_url=contract_host, timeout=30) as client:
        document = (await client.get("/api/openapi.json")).json()
    schema = tmp_path / "openapi.json"
    schema.write_text(json.dumps(with_examples(document, seeded)))
    config = tmp_path / "schemathesis.toml"
    config.write_text(config_toml(credentials))
    REPORT_DIR.mkdir(parents=True, exist_ok=True)
    events, har = REPORT_DIR / "events.ndjson", REPORT_DIR / "exchanges.har"
    command = [
        sys.executable,
        "-c",
        _RUN_SCHEMATHESIS,
        "--config-file",
        str(config),
        "--no-color",
        "run",
        str(schema),
        "--url",
        contract_host,
        "--report",
        "ndjson,har",
        "--report-ndjson-path",
        str(events),
        "--report-har-path",
        str(har),
    ]
    run = await asyncio.to_thread(
        subprocess.run, command, cwd=tmp_path, capture_output=True, text=True, timeout=MAX_TIME_SECONDS + 300
    )
    (REPORT_DIR / "output.txt").write_text(run.stdout + run.stderr)
    summary = summarise(events, har, document)
    (REPORT_DIR / "summary.json").write_text(json.dumps(summary, indent=1))
    print(json.dumps({key: summary[key] for key in ("requests", "operations", "failures", "errors")}))
    assert run.returncode == 0 and summary["failures"] == {} and summary["errors"] == 0, run.stdout[-8000:]
    assert summary["operations"] == sum(len(item) for item in document["paths"].values())
    assert "(undocumented path)" not in summary["statuses"]
    assert set(summary["statuses"].get("(other method of a documented path)", {"405": 0})) == {"405"}
    unreached = [label for label in DEEP if not summary["ok_by_operation"].get(label)]
    assert not unreached, f"never answered 2xx: {unreached}"
    assert not any(status.startswith("5") for counts in summary["statuses"].values() for status in counts)


def summarise(events: Path, har: Path, document: dict) -> dict:
    """Totals of the run: requests sent (from the HAR log, every exchange), operations,
    statuses per operation, and failures by check (from the events log)."""
    failures: Counter = Counter()
    errors = 0
    for line in events.read_text().splitlines():
        event = json.loads(line)
        finished = event.get("ScenarioFinished")
        if finished:
            for checks in (finished.get("recorder") or {}).get("checks", {}).values():
                failures.update(check["name"] for check in checks if check["status"] == "failure")
        errors += "NonFatalError" in event
    operations = [
        (method.upper(), re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", path) + "$"), f"{method.upper()} {path}")
        for path, item in document["paths"].items()
        for method in item
    ]
    statuses: dict[str, Counter] = defaultdict(Counter)
    entries = json.loads(har.read_text())["log"]["entries"]
    for entry in entries:
        path = urlsplit(entry["request"]["url"]).path
        label = next(
            (
                label
                for method, pattern, label in operations
                if method == entry["request"]["method"] and pattern.match(path)
            ),
            None,
        )
        if label is None:  # the unsupported_method check's probes (405 expected), or a stray path
            known = any(pattern.match(path) for _, pattern, _ in operations)
            label = "(other method of a documented path)" if known else "(undocumented path)"
        statuses[label][str(entry["response"]["status"])] += 1
    return {
        "requests": len(entries),
        "operations": len([label for label in statuses if not label.startswith("(")]),
        "failures": dict(failures),
        "errors": errors,
        "statuses": {label: dict(sorted(counts.items())) for label, counts in sorted(statuses.items())},
        "ok_by_operation": {
            label: sum(n for status, n in counts.items() if status.startswith("2"))
            for label, counts in statuses.items()
        },
    }
