"""scripts/smoke.py, the check after every deploy: passes against the real app
over loopback HTTP; fails, naming the check, against stubs of broken deploys
(a worker that failed to import answers 500 or 404 on everything, a front end
that answers HTML); the Event Grid step through a fake `az` on PATH."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.deploy.support import ROOT

SCRIPT = ROOT / "scripts" / "smoke.py"
SUBSCRIPTION = "/subscriptions/0000/resourceGroups/rg/providers/Microsoft.Web/sites/app/providers/Microsoft.EventGrid/eventSubscriptions/acs"
FAST = ["--attempts", "2", "--wait", "0.05", "--timeout", "5"]

# path -> (status, content type, body) of a healthy deploy
HEALTHY = {
    "/api/health/ready": (200, "application/json", {"status": "ready", "notReady": []}),
    "/api/openapi.json": (200, "application/json", {"openapi": "3.1.0", "paths": {"/api/health": {}}}),
    "/functions/v1/generate-shortlist": (401, "application/json", {"error": "Invalid token"}),
}


@contextmanager
def stub(
    answers: dict[str, tuple[int, str, object]], default=(404, "text/html", "<html>Not found</html>")
) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            status, content_type, body = answers.get(self.path, default)
            raw = (json.dumps(body) if not isinstance(body, str) else body).encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        do_GET = do_POST = _answer

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def smoke(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k not in ("SERVICE_API_URI", "EVENTGRID_SUBSCRIPTION_ID")}
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**environment, **(env or {})},
        cwd=ROOT,
    )


def failed_checks(result: subprocess.CompletedProcess) -> list[str]:
    return [
        line.split(":")[0].removeprefix("FAIL").strip()
        for line in result.stdout.splitlines()
        if line.startswith("FAIL")
    ]


@pytest.fixture
def fake_az(tmp_path) -> Callable[..., tuple[dict[str, str], Path]]:
    """Puts an `az` on PATH that records its arguments and prints `state`."""

    def install(state: str, exit_code: int = 0) -> tuple[dict[str, str], Path]:
        calls = tmp_path / "az-calls.txt"
        az = tmp_path / "bin" / "az"
        az.parent.mkdir(exist_ok=True)
        az.write_text(f'#!/bin/sh\necho "$@" >> "{calls}"\necho {state}\nexit {exit_code}\n')
        az.chmod(az.stat().st_mode | stat.S_IXUSR)
        return {"PATH": f"{az.parent}{os.pathsep}{os.environ['PATH']}"}, calls

    return install


def test_passes_against_the_real_app_over_http(devhost):
    result = smoke(devhost, *FAST)
    assert result.returncode == 0, result.stdout + result.stderr
    assert failed_checks(result) == []
    assert "ok    former route 401" in result.stdout
    assert "skip  eventgrid subscription" in result.stdout  # not given: a note, not a failure


def test_takes_the_url_from_service_api_uri(devhost):
    result = smoke(*FAST, env={"SERVICE_API_URI": devhost + "/"})
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_worker_that_failed_to_import_fails_every_http_check():
    """ModuleNotFoundError after a remote build: the host answers 500 on every function."""
    with stub({}, default=(500, "text/plain", "")) as base:
        result = smoke(base, *FAST)
    assert result.returncode == 1
    assert failed_checks(result) == ["health/ready", "openapi.json", "former route 401"]
    assert "answered 500, expected 200 (after 2 tries)" in result.stdout
    assert result.stdout.strip().endswith("smoke test FAILED: health/ready, openapi.json, former route 401")


def test_an_app_with_no_functions_fails_on_404s():
    with stub({}) as base:
        result = smoke(base, *FAST)
    assert result.returncode == 1 and len(failed_checks(result)) == 3


def test_not_ready_fails_naming_what_is_not_ready():
    answers = {
        **HEALTHY,
        "/api/health/ready": (503, "application/json", {"status": "not_ready", "notReady": ["database"]}),
    }
    with stub(answers) as base:
        result = smoke(base, *FAST)
    assert result.returncode == 1 and failed_checks(result) == ["health/ready"]
    assert "answered 503, expected 200 (not ready: database)" in result.stdout


def test_html_instead_of_the_json_401_fails():
    answers = {**HEALTHY, "/functions/v1/generate-shortlist": (200, "text/html", "<html>Welcome</html>")}
    with stub(answers) as base:
        result = smoke(base, *FAST)
    assert result.returncode == 1 and failed_checks(result) == ["former route 401"]
    html_401 = {**HEALTHY, "/functions/v1/generate-shortlist": (401, "text/html", "<html>Unauthorized</html>")}
    with stub(html_401) as base:
        result = smoke(base, *FAST)
    assert failed_checks(result) == ["former route 401"] and "not JSON" in result.stdout


def test_an_openapi_document_without_paths_fails():
    answers = {**HEALTHY, "/api/openapi.json": (200, "application/json", {"openapi": "3.1.0"})}
    with stub(answers) as base:
        result = smoke(base, *FAST)
    assert failed_checks(result) == ["openapi.json"] and "the document has no paths" in result.stdout


def test_nothing_listening_fails_with_a_reason():
    with stub({}) as base:
        pass  # closed: nothing listens there now
    result = smoke(base, "--attempts", "1", "--timeout", "2")
    assert result.returncode == 1 and "FAIL  health/ready: no answer" in result.stdout


def test_no_url_is_a_usage_error():
    result = smoke()
    assert result.returncode == 2 and "SERVICE_API_URI" in result.stderr
    assert smoke("file:///etc/passwd").returncode == 2


def test_eventgrid_succeeded_passes_and_asks_az_the_right_question(fake_az):
    env, calls = fake_az("Succeeded")
    with stub(HEALTHY) as base:
        result = smoke(base, *FAST, "--eventgrid-subscription", SUBSCRIPTION, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok    eventgrid subscription: Succeeded" in result.stdout
    assert calls.read_text().split() == [
        "eventgrid", "event-subscription", "show", "--ids", SUBSCRIPTION, "--query", "provisioningState", "-o", "tsv",
    ]  # fmt: skip


def test_eventgrid_failed_fails(fake_az):
    env, _ = fake_az("Failed")
    with stub(HEALTHY) as base:
        result = smoke(base, *FAST, env={**env, "EVENTGRID_SUBSCRIPTION_ID": SUBSCRIPTION})
    assert result.returncode == 1 and failed_checks(result) == ["eventgrid subscription"]
    assert "provisioning state is Failed, expected Succeeded" in result.stdout


def test_eventgrid_az_error_fails_with_its_message(fake_az):
    env, _ = fake_az("", exit_code=3)
    with stub(HEALTHY) as base:
        result = smoke(base, *FAST, "--eventgrid-subscription", SUBSCRIPTION, env=env)
    assert failed_checks(result) == ["eventgrid subscription"] and "az failed (3)" in result.stdout


def test_the_former_route_is_one_that_needs_a_signed_in_user():
    """A renamed or anonymous route would make check 3 meaningless."""
    os.environ.setdefault("APP_ENV", "test")
    import function_app  # noqa: F401  (registers the endpoints)
    from shared.platform.http import FORMER_ENDPOINTS, FORMER_PREFIX

    source = SCRIPT.read_text()
    former = source.split('FORMER_ROUTE = "', 1)[1].split('"', 1)[0]
    name = former.removeprefix(f"/{FORMER_PREFIX}/")
    assert name in FORMER_ENDPOINTS and FORMER_ENDPOINTS[name].spec.auth == "user"
    assert "POST" in FORMER_ENDPOINTS[name].spec.methods


def test_make_smoke_runs_the_script():
    makefile = (ROOT / "Makefile").read_text()
    assert "\nsmoke:" in makefile and "scripts/smoke.py $(URL)" in makefile
