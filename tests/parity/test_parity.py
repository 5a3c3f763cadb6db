"""scripts/parity.py against two local fake backends.

Two stdlib HTTP servers on 127.0.0.1 play the old backend (Supabase Edge
Function paths) and the new one (the app: every former name under
/functions/v1, and its routes under /api). They answer every
corpus entry from one table of canned responses; the "new" server can be told
to answer some endpoints differently, and the tool must report exactly those.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "parity.py"
CORPUS = ROOT / "scripts" / "parity_corpus"


def _load_parity():
    spec = importlib.util.spec_from_file_location("parity_under_test", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


parity = _load_parity()

VARIABLES = [
    "--var",
    "INTERVIEW_ID=11111111-1111-4111-8111-111111111111",
    "--var",
    "ROLE_ID=22222222-2222-4222-8222-222222222222",
    "--var",
    "APPLICATION_ID=33333333-3333-4333-8333-333333333333",
    "--var",
    "USER_ID=44444444-4444-4444-8444-444444444444",
    "--var",
    "CV_FILE=resume.pdf",
    "--var",
    "CANDIDATE_EMAIL=candidate@example.com",
]

# One canned answer per endpoint, keyed by the former function name (or the
# new-only route), shaped like API.md's responses.
ANSWERS: dict[str, tuple[int, object]] = {
    "ai-interviewer": (
        200,
        {
            "message": "Welcome! Tell me about yourself.",
            "detectedCompetencies": ["communication"],
            "competencyCovered": "communication",
        },
    ),
    "score-interview": (
        200,
        {
            "success": True,
            "interviewId": "11111111-1111-4111-8111-111111111111",
            "dimensions": [
                {
                    "dimension": "technical_skills",
                    "score": 8.5,
                    "weight": 0.3,
                    "evidence": "Led a migration",
                    "cited_quotes": ["I led it"],
                }
            ],
            "overall_score": 82,
            "narrative_summary": "Strong.",
            "candidate_feedback": "Well done.",
            "anti_cheat_risk_level": "low",
            "anti_cheat_notes": "",
        },
    ),
    "parse-resume": (
        200,
        {
            "success": True,
            "data": {
                "personal": {
                    "first_name": "Ada",
                    "last_name": "L",
                    "email": "a@example.com",
                    "phone": "",
                    "linkedin_url": "",
                    "portfolio_url": "",
                    "location": {"suburb": "Carlton", "state": "VIC", "postcode": "3053", "country": "AU"},
                },
                "employment": [
                    {
                        "job_title": "Dev",
                        "company_name": "Acme",
                        "start_date": "2020-01-01",
                        "end_date": None,
                        "is_current": True,
                        "description": "",
                    }
                ],
                "education": [
                    {
                        "institution": "Uni",
                        "degree": "BSc",
                        "field_of_study": "CS",
                        "end_date": "2015-12-01",
                        "is_current": False,
                    }
                ],
                "skills": [{"skill_name": "React", "skill_type": "hard"}],
                "summary": "",
            },
        },
    ),
    "extract-requirements": (
        200,
        {
            "success": True,
            "requirements": {
                "skills": ["React"],
                "experience": ["5+ years"],
                "qualifications": [],
                "responsibilities": ["Lead"],
                "interviewQuestions": ["Tell me about a project you led."],
            },
        },
    ),
    "generate-shortlist": (
        200,
        {
            "matches": [
                {
                    "applicationId": "a",
                    "candidateId": "c",
                    "matchScore": 85,
                    "matchReasons": ["Strong React"],
                    "skills": ["React"],
                    "experience": "Senior Frontend Developer",
                    "availability": "2 weeks",
                    "workMode": "hybrid",
                    "location": "NSW",
                }
            ],
            "roleTitle": "Senior Software Engineer",
        },
    ),
    "acs-token-generator": (
        200,
        {"token": "tok", "expiresOn": "2026-01-13T12:00:00Z", "user": {"communicationUserId": "8:acs:abc"}},
    ),
    "acs-webhook-handler": (200, {"validationResponse": "512d38b6-c7b8-40c8-89fe-f46f9e9622b6"}),
    "azure-speech-token": (200, {"token": "tok", "region": "australiaeast", "expiresIn": 600}),
    "send-invitation": (200, {"success": True, "invitationId": "i", "expiresAt": "2026-01-20T12:00:00Z"}),
    "create-organisation": (
        200,
        {
            "organisation": {
                "id": "o",
                "name": "Acme",
                "industry": None,
                "website": None,
                "description": None,
                "billing_email": None,
                "created_at": "2026-01-13T12:00:00Z",
                "updated_at": "2026-01-13T12:00:00Z",
            }
        },
    ),
    "data-retention-cleanup": (
        200,
        {
            "success": True,
            "totalDeleted": 15,
            "organisationResults": [{"organisation": "Acme", "retentionDays": 60, "interviewsProcessed": 5}],
            "processedAt": "2026-01-13T12:00:00Z",
        },
    ),
    "health": (200, {"status": "ok", "version": "1.0.0", "database": "ok"}),
    "openapi.json": (200, {"openapi": "3.1.0", "info": {"title": "Talenti", "version": "1.0.0"}, "paths": {}}),
    "ai/interviewer/stream": (200, 'data: {"content": "Hi"}\n\ndata: [DONE]\n\n'),
}


class FakeBackend:
    """A tiny HTTP server answering corpus paths from a table."""

    def __init__(self, route_to_key: dict[str, str], answers: dict[str, tuple[int, object]]):
        self.route_to_key = route_to_key
        self.answers = answers
        self.requests: list[dict] = []
        backend = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                path = self.path.split("?", 1)[0]
                backend.requests.append(
                    {
                        "method": self.command,
                        "path": path,
                        "headers": {k.lower(): v for k, v in self.headers.items()},
                        "body": json.loads(raw) if raw else None,
                    }
                )
                key = backend.route_to_key.get(path.strip("/"))
                if key is None:
                    status, body = 404, {"error": f"no route {path}"}
                else:
                    status, body = backend.answers[key]
                if isinstance(body, str):
                    data = body.encode()
                    content_type = "text/event-stream" if body.startswith("data:") else "text/html"
                else:
                    data = json.dumps(body).encode()
                    content_type = "application/json; charset=utf-8"
                self.send_response(status)
                self.send_header("content-type", content_type)
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = _answer
            do_POST = _answer

            def log_message(self, *args) -> None:  # keep pytest output clean
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> "FakeBackend":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


OLD_ROUTES = {name: name for name in parity.ENDPOINTS}
NEW_ROUTES = {f"functions/v1/{name}": name for name in parity.ENDPOINTS}
NEW_ROUTES.update({f"api/{route}": name for name, route in parity.ENDPOINTS.items()})
NEW_ROUTES.update(
    {"api/health": "health", "api/openapi.json": "openapi.json", "api/ai/interviewer/stream": "ai/interviewer/stream"}
)


def functions_url(backend: "FakeBackend") -> str:
    """The app's functions URL: the former names are served under it."""
    return backend.url + "/functions/v1"


def mismatching_answers() -> dict[str, tuple[int, object]]:
    answers = copy.deepcopy(ANSWERS)
    # status only: 202 instead of 200, same body
    answers["score-interview"] = (202, answers["score-interview"][1])
    # nested type: matches[0].matchScore becomes a string
    answers["generate-shortlist"][1]["matches"][0]["matchScore"] = "85"
    # a key the frontend reads disappears
    del answers["azure-speech-token"][1]["expiresIn"]
    # an HTML error page instead of JSON
    answers["extract-requirements"] = (502, "<html>Bad gateway</html>")
    # a new-only route answering the wrong status
    answers["health"] = (503, {"status": "degraded", "version": "1.0.0", "database": "unreachable"})
    return answers


def run_cli(capsys, old: FakeBackend, new: FakeBackend, *extra: str) -> tuple[int, dict]:
    code = parity.main(
        [
            "--old",
            old.url,
            "--new",
            functions_url(new),
            "--old-token",
            "old-jwt",
            "--new-token",
            "new-jwt",
            "--new-service-key",
            "svc-key",
            "--old-apikey",
            "anon-key",
            "--timeout",
            "10",
            "--json",
            *extra,
        ]
    )
    out = capsys.readouterr().out
    return code, json.loads(out)


def by_case(report: dict) -> dict[tuple[str, str], dict]:
    return {(r["endpoint"], r["name"]): r for r in report["results"]}


# ------------------------------------------------------------------ corpus


def test_corpus_covers_every_former_function_and_health():
    entries = parity.load_corpus(CORPUS)
    endpoints = {entry.endpoint for entry in entries}
    assert set(parity.ENDPOINTS) | {"health"} <= endpoints
    for name in parity.ENDPOINTS:
        assert (CORPUS / f"{name}.json").is_file(), name
    # the mapping table is the one of API.md
    assert parity.ENDPOINTS["ai-interviewer"] == "ai/interviewer"
    assert parity.ENDPOINTS["data-retention-cleanup"] == "admin/data-cleanup"
    assert len(parity.ENDPOINTS) == 11


def test_paths_resolve_from_either_side():
    assert parity.resolve_paths("/ai-interviewer") == ("/ai-interviewer", "/ai/interviewer")
    assert parity.resolve_paths("/ai/score?x=1") == ("/score-interview?x=1", "/ai/score?x=1")
    assert parity.resolve_paths("/health") == (None, "/health")
    with pytest.raises(parity.CorpusError):
        parity.resolve_paths("/not-an-endpoint")


# ------------------------------------------------------------------ shapes


def test_shape_comparison_rules():
    old = {"a": 1, "b": [{"c": "x", "d": [1]}], "e": None, "f": []}
    same_shape = {"a": 2.5, "b": [{"c": "y", "d": [7, 8]}, {"other": 1}], "e": "now set", "f": [{"g": 1}]}
    assert parity.compare_shapes(old, same_shape) == []
    assert parity.compare_shapes(old, same_shape, strict_null=True) == ["$.e: null (old) vs string (new)"]
    nested = {"a": 1, "b": [{"c": "x", "d": ["1"]}], "e": None, "f": [], "extra": True}
    assert parity.compare_shapes(old, nested) == [
        "$.b[0].d[0]: number (old) vs string (new)",
        "$.extra: missing in old",
    ]
    assert parity.compare_shapes(old, nested, allow_extra_keys=True) == ["$.b[0].d[0]: number (old) vs string (new)"]
    assert parity.compare_shapes({"x": True}, {"x": 1}) == ["$.x: boolean (old) vs number (new)"]
    assert parity.compare_shapes({"x": 1}, {}) == ["$.x: missing in new"]


# ------------------------------------------------------------------ end to end


def test_matching_backends_report_every_entry_as_matched(capsys):
    with FakeBackend(OLD_ROUTES, ANSWERS) as old, FakeBackend(NEW_ROUTES, ANSWERS) as new:
        code, report = run_cli(capsys, old, new, "--include-mutating", *VARIABLES)
    assert code == 0
    total = len(parity.load_corpus(CORPUS))
    assert report["summary"] == {
        "total": total,
        "matched": total,
        "mismatched": 0,
        "known": 0,
        "errors": 0,
        "skipped": 0,
    }
    assert all(r["matched"] and r["ok"] for r in report["results"])
    results = by_case(report)
    stream = results[("ai-interviewer", "stream (new backend only)")]
    assert stream["old_status"] is None and stream["new_status"] == 200 and stream["status_match"] is True


def test_mismatches_are_reported_per_endpoint(capsys):
    with FakeBackend(OLD_ROUTES, ANSWERS) as old, FakeBackend(NEW_ROUTES, mismatching_answers()) as new:
        code, report = run_cli(capsys, old, new, "--include-mutating", *VARIABLES)
    assert code == 1
    results = by_case(report)
    failing = {key for key, r in results.items() if not r["ok"]}

    score = [key for key in results if key[0] == "score-interview"]
    expected_failing = (
        {key for key in score if key[1] != "no token"}
        | {key for key in results if key[0] in ("generate-shortlist", "azure-speech-token", "extract-requirements")}
        | {("health", "health")}
    )
    assert failing == expected_failing

    # status mismatch, shapes equal
    scored = results[("score-interview", "score a stored interview")]
    assert (scored["old_status"], scored["new_status"]) == (200, 202)
    assert scored["status_match"] is False and scored["shape_match"] is True
    assert scored["differences"] == ["status 200 (old) vs 202 (new)"]

    # nested type mismatch, status equal
    shortlist = results[("generate-shortlist", "shortlist a role")]
    assert shortlist["status_match"] is True and shortlist["shape_match"] is False
    assert shortlist["differences"] == ["$.matches[0].matchScore: number (old) vs string (new)"]
    assert shortlist["old_shape"]["matches"][0]["matchScore"] == "number"
    assert shortlist["new_shape"]["matches"][0]["matchScore"] == "string"

    speech = results[("azure-speech-token", "GET")]
    assert speech["differences"] == ["$.expiresIn: missing in new"]

    html = results[("extract-requirements", "extract from a job description")]
    assert html["status_match"] is False and html["shape_match"] is False
    assert "status 200 (old) vs 502 (new)" in html["differences"]

    health = results[("health", "health")]
    assert health["status_match"] is False and health["differences"] == ["status 503, expected 200"]

    # a documented, intended difference is shown but does not fail the run
    known = results[("score-interview", "no token")]
    assert known["matched"] is False and known["ok"] is True and known["known_difference"]

    assert report["summary"]["known"] == 1
    assert report["summary"]["mismatched"] == len(expected_failing)
    assert report["summary"]["errors"] == 0


def test_tokens_and_service_key_reach_the_right_side(capsys):
    with FakeBackend(OLD_ROUTES, ANSWERS) as old, FakeBackend(NEW_ROUTES, ANSWERS) as new:
        run_cli(capsys, old, new, "--include-mutating", *VARIABLES)
        old_requests, new_requests = old.requests, new.requests

    def find(requests, path, body_action=None, authed=True):
        for req in requests:
            if req["path"] == path and (body_action is None or (req["body"] or {}).get("action") == body_action):
                if authed == ("authorization" in req["headers"] or "x-service-key" in req["headers"]):
                    return req
        raise AssertionError(f"no request to {path}")

    user_old = find(old_requests, "/ai-interviewer")
    user_new = find(new_requests, "/functions/v1/ai-interviewer")
    assert user_old["headers"]["authorization"] == "Bearer old-jwt"
    assert user_old["headers"]["apikey"] == "anon-key"
    assert user_new["headers"]["authorization"] == "Bearer new-jwt"
    assert "apikey" not in user_new["headers"]

    service_new = find(new_requests, "/functions/v1/data-retention-cleanup", "parity_unknown_action")
    assert service_new["headers"]["x-service-key"] == "svc-key"
    assert "authorization" not in service_new["headers"]
    service_old = find(old_requests, "/data-retention-cleanup", "parity_unknown_action")
    assert service_old["headers"]["authorization"] == "Bearer old-jwt"

    anonymous = find(new_requests, "/functions/v1/create-organisation", authed=False)
    assert "authorization" not in anonymous["headers"]

    # placeholders are filled
    shortlist = [r for r in new_requests if r["path"] == "/functions/v1/generate-shortlist"]
    assert {"roleId": "22222222-2222-4222-8222-222222222222"} in [r["body"] for r in shortlist]


def test_mutating_and_unfilled_entries_are_skipped_by_default(capsys):
    with FakeBackend(OLD_ROUTES, ANSWERS) as old, FakeBackend(NEW_ROUTES, ANSWERS) as new:
        code, report = run_cli(capsys, old, new)
        sent_paths = {r["path"] for r in new.requests}
    assert code == 0
    results = by_case(report)
    assert results[("send-invitation", "send an invitation")]["skipped"].startswith("mutates data")
    assert "--var ROLE_ID" in results[("generate-shortlist", "shortlist a role")]["skipped"]
    assert report["summary"]["skipped"] > 0 and report["summary"]["mismatched"] == 0
    # no mutating request reached a backend
    assert "/functions/v1/send-invitation" in sent_paths  # the invalid-request entries still run
    assert not any(
        isinstance(r["body"], dict) and r["body"].get("action") == "cleanup_recordings" for r in new.requests
    )


def test_endpoint_filter_and_table_output(capsys):
    with FakeBackend(OLD_ROUTES, ANSWERS) as old, FakeBackend(NEW_ROUTES, mismatching_answers()) as new:
        code = parity.main(
            [
                "--old",
                old.url,
                "--new",
                functions_url(new),
                "--old-token",
                "t",
                "--endpoint",
                "ai/generate-shortlist",
                *VARIABLES,
            ]
        )
    table = capsys.readouterr().out
    assert code == 1
    assert "generate-shortlist" in table and "ai-interviewer" not in table
    assert "MISMATCH" in table
    assert "$.matches[0].matchScore: number (old) vs string (new)" in table
    # the fake answers every entry of the endpoint alike: all three differ
    assert "0 matched, 3 mismatched" in table


def test_cli_exit_codes_as_a_subprocess():
    with FakeBackend(OLD_ROUTES, ANSWERS) as old, FakeBackend(NEW_ROUTES, mismatching_answers()) as new:
        env_run = subprocess.run(
            [sys.executable, str(SCRIPT), "--json", "--endpoint", "azure-speech-token"],
            capture_output=True,
            text=True,
            timeout=60,
            env={
                "PATH": "/usr/bin:/bin",
                "PARITY_OLD_BASE": old.url,
                "PARITY_NEW_BASE": new.url + "/functions/v1",
                "PARITY_OLD_TOKEN": "t",
            },
        )
        good = subprocess.run(
            [
                sys.executable,
                str(SCRIPT),
                "--old",
                old.url,
                "--new",
                functions_url(new),
                "--endpoint",
                "acs-token-generator",
                "--var",
                "USER_ID=u",
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert env_run.returncode == 1, env_run.stderr
    report = json.loads(env_run.stdout)
    assert {r["endpoint"] for r in report["results"]} == {"azure-speech-token"}
    assert good.returncode == 0, good.stdout + good.stderr
    bad = subprocess.run(
        [sys.executable, str(SCRIPT), "--old", "http://127.0.0.1:9"], capture_output=True, text=True, timeout=60
    )
    assert bad.returncode == 2 and "--new" in bad.stderr


def test_two_instances_of_the_new_backend(capsys):
    """--old-backend app: both sides are called by the former names and get the service key."""
    with FakeBackend(NEW_ROUTES, ANSWERS) as first, FakeBackend(NEW_ROUTES, ANSWERS) as second:
        code = parity.main(
            [
                "--old",
                functions_url(first),
                "--new",
                functions_url(second),
                "--old-backend",
                "app",
                "--old-token",
                "t",
                "--old-service-key",
                "svc-old",
                "--new-service-key",
                "svc-new",
                "--timeout",
                "10",
                "--json",
                *VARIABLES,
            ]
        )
        report = json.loads(capsys.readouterr().out)
        first_requests, second_requests = first.requests, second.requests
    assert code == 0, report["summary"]
    assert report["summary"]["mismatched"] == 0 and report["summary"]["errors"] == 0
    paths = {r["path"] for r in first_requests}
    assert "/functions/v1/ai-interviewer" in paths and not any(p.startswith("/api/") for p in paths)
    cleanup = [
        r
        for r in first_requests
        if r["path"] == "/functions/v1/data-retention-cleanup" and "x-service-key" in r["headers"]
    ]
    assert cleanup and cleanup[0]["headers"]["x-service-key"] == "svc-old"
    results = by_case(report)
    assert results[("ai-interviewer", "no token")]["old_path"] == "/ai-interviewer"
    # app-only routes are checked once, on the second instance's /api
    assert results[("health", "health")]["old_status"] is None
    assert "/api/health" in {r["path"] for r in second_requests}


def test_new_side_by_its_api_routes(capsys):
    """--new-paths api: the app is called by its routes (a route against its former name)."""
    with FakeBackend(OLD_ROUTES, ANSWERS) as old, FakeBackend(NEW_ROUTES, ANSWERS) as new:
        code, report = run_cli(capsys, old, new, "--new-paths", "api", *VARIABLES)
        paths = {r["path"] for r in new.requests}
    assert code == 0, report["summary"]
    assert "/api/ai/interviewer" in paths and not any(p.startswith("/functions/") for p in paths)
    assert by_case(report)[("ai-interviewer", "no token")]["new_path"] == "/ai/interviewer"


def test_api_base_follows_the_functions_url():
    assert parity.api_base_of("https://app.example/functions/v1/") == "https://app.example/api"
    assert parity.api_base_of("http://127.0.0.1:7071/functions/v1") == "http://127.0.0.1:7071/api"
    assert parity.api_base_of("https://gateway.example/talenti") == "https://gateway.example/talenti/api"


def test_connection_failure_is_an_error_not_a_match(tmp_path, capsys):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "azure-speech-token.json").write_text(
        json.dumps(
            {
                "endpoint": "azure-speech-token",
                "entries": [{"name": "GET", "method": "GET", "path": "/azure-speech-token", "token": "user"}],
            }
        )
    )
    with FakeBackend(OLD_ROUTES, ANSWERS) as old:
        code = parity.main(
            [
                "--old",
                old.url,
                "--new",
                "http://127.0.0.1:9/functions/v1",
                "--old-token",
                "t",
                "--corpus",
                str(corpus),
                "--timeout",
                "5",
                "--json",
            ]
        )
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    assert report["summary"]["errors"] == 1
    assert report["results"][0]["error"].startswith("new: ConnectError")
