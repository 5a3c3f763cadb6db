"""Issue 24: telemetry is off unless configured (and then loads no SDK), a request
is one span and one duration measurement, and its id is in its error body and in
every log record written while it is handled."""

import json
import logging
import subprocess
import sys

import pytest

from shared.platform.config import Settings
from shared.platform.telemetry import exporter_for, otlp_spans
from tests.conftest import ROOT
from tests.support import auth_headers, call_function, create_user

PROBE = (
    "import json, sys; import function_app; from shared.platform.wiring import get_services; get_services(); "
    "print(json.dumps(sorted({m.split('.')[0] + '.' + m.split('.')[1] for m in sys.modules "
    "if m.startswith(('opentelemetry.sdk', 'azure.monitor', 'opentelemetry.instrumentation'))})))"
)


def loaded_after_start_up(**env: str) -> list[str]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "APP_ENV": "development", **env},
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.io  # fresh interpreters
def test_telemetry_off_loads_no_sdk_even_after_start_up():
    assert loaded_after_start_up() == []
    # The probe can see an SDK: configured, start-up loads one.
    assert "opentelemetry.sdk" in loaded_after_start_up(TELEMETRY_EXPORTER="console")


@pytest.mark.unit
def test_the_exporter_follows_the_settings():
    assert exporter_for(Settings(APP_ENV="test")) == "none"
    connected = "InstrumentationKey=00000000-0000-0000-0000-000000000000"
    assert exporter_for(Settings(APP_ENV="test", APPLICATIONINSIGHTS_CONNECTION_STRING=connected)) == "azure"
    assert (
        exporter_for(
            Settings(APP_ENV="test", APPLICATIONINSIGHTS_CONNECTION_STRING=connected, TELEMETRY_EXPORTER="none")
        )
        == "none"
    )
    assert exporter_for(Settings(APP_ENV="test", TELEMETRY_EXPORTER="file")) == "file"
    with pytest.raises(ValueError, match="APPLICATIONINSIGHTS_CONNECTION_STRING"):
        Settings(APP_ENV="test", TELEMETRY_EXPORTER="azure")


async def test_a_request_is_a_span_a_measurement_and_its_id_is_in_the_error_body_and_logs(
    db, services, telemetry_capture, caplog, unique_ip
):
    user = await create_user(db)
    labels = {"http.route": "/api/organisations", "http.request.method": "POST", "http.response.status_code": 400}
    before = telemetry_capture.total("http.server.request.duration", **labels)
    with caplog.at_level(logging.DEBUG):
        result = await call_function(
            "organisations",
            "POST",
            {"name": ""},
            {**auth_headers(user), "x-request-id": "req-tele-1"},
            client_ip=unique_ip,
        )
    assert result.status == 400
    assert result.json()["requestId"] == "req-tele-1" == result.headers["x-request-id"]

    [span] = telemetry_capture.named("POST /api/organisations")
    assert span.attributes["http.route"] == "/api/organisations"
    assert span.attributes["http.response.status_code"] == 400
    # The rate-limit check's statement is a child of the request's span.
    statements = [s for s in telemetry_capture.trace_of(span) if s.attributes.get("db.system") == "postgresql"]
    assert statements and all(s.parent.span_id == span.context.span_id for s in statements)
    assert telemetry_capture.total("http.server.request.duration", **labels) == before + 1

    during = [r for r in caplog.records if r.name.startswith("talenti")]
    assert during and all(getattr(r, "requestId", None) == "req-tele-1" for r in during)
    assert all(getattr(r, "traceId", None) == f"{span.context.trace_id:032x}" for r in during)
    [line] = [json.loads(r.getMessage()) for r in during if '"event":"request"' in r.getMessage()]
    assert line["traceId"] == f"{span.context.trace_id:032x}"


async def test_an_unhandled_error_and_a_404_carry_the_request_id(services):
    result = await call_function("unknown_route", "GET", path="/api/nope", path_params={"path": "nope"})
    assert result.status == 404 and result.json()["requestId"] == result.headers["x-request-id"]


def test_spans_are_written_as_otlp_json(telemetry_capture):
    from shared.platform.telemetry import tracer

    with tracer.start_as_current_span("outer", attributes={"n": 1, "ok": True}), tracer.start_as_current_span("inner"):
        pass
    document = otlp_spans(telemetry_capture.spans())
    [scope] = document["resourceSpans"][0]["scopeSpans"]
    inner, outer = scope["spans"]
    assert (inner["name"], outer["name"]) == ("inner", "outer")
    assert inner["parentSpanId"] == outer["spanId"] and len(outer["traceId"]) == 32
    assert {"key": "n", "value": {"intValue": "1"}} in outer["attributes"]
    assert {"key": "ok", "value": {"boolValue": True}} in outer["attributes"]


@pytest.mark.io  # a loopback server
async def test_outbound_http_and_azure_sdk_calls_become_client_spans(telemetry_capture):
    """Speech and Resend go through httpx; ACS and Blob through azure-core's tracing plugin."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    import httpx
    from azure.core.settings import settings as azure_settings

    from shared.platform.telemetry import instrument_libraries, tracer

    class Ok(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Ok)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        instrument_libraries()
        with tracer.start_as_current_span("caller") as caller:
            async with httpx.AsyncClient() as client:
                assert (await client.get(f"http://127.0.0.1:{server.server_port}/token")).status_code == 204
    finally:
        server.shutdown()
    [outbound] = [
        s
        for s in telemetry_capture.spans()
        if s.attributes.get("http.request.method") == "GET" or s.attributes.get("http.method") == "GET"
    ]
    assert outbound.parent.span_id == caller.get_span_context().span_id
    assert azure_settings.tracing_implementation().__name__ == "OpenTelemetrySpan"


async def test_pool_waits_exhaustion_and_rate_limit_refusals_are_counted(db, database_url, telemetry_capture):
    import uuid

    from shared.platform.buckets import Bucket
    from shared.platform.db import Database, DatabaseUnavailable
    from shared.platform.errors import RateLimited
    from shared.platform.rate_limit import RateLimiter

    waits_before = telemetry_capture.total("talenti.db.pool.wait")
    exhausted_before = telemetry_capture.total("talenti.db.pool.exhausted", cause="PoolTimeout")
    small = Database(database_url, min_size=1, max_size=1, pool_timeout=0.2)
    try:
        async with small.connection():
            with pytest.raises(DatabaseUnavailable):
                async with small.connection():
                    pass
    finally:
        await small.close()
    assert telemetry_capture.total("talenti.db.pool.wait") >= waits_before + 1
    assert telemetry_capture.total("talenti.db.pool.exhausted", cause="PoolTimeout") == exhausted_before + 1

    refused_before = telemetry_capture.total("talenti.rate_limit.refused", bucket="organisations")
    limiter = RateLimiter(db, {Bucket.ORGANISATIONS: (1, 60)}, True)
    user_key = f"user|{uuid.uuid4()}"
    await limiter.check(Bucket.ORGANISATIONS, user_key=user_key, ip_key=None)
    with pytest.raises(RateLimited):
        await limiter.check(Bucket.ORGANISATIONS, user_key=user_key, ip_key=None)
    assert telemetry_capture.total("talenti.rate_limit.refused", bucket="organisations") == refused_before + 1


def test_retention_items_are_counted_by_kind_and_outcome(telemetry_capture):
    import uuid
    from datetime import UTC, datetime

    from shared.retention.models import (
        CleanupRecordingsResponse,
        DeletionRequestResult,
        ProcessDeletionRequestsResponse,
    )
    from shared.retention.service import count_items

    def total(kind, outcome):
        return telemetry_capture.total("talenti.retention.items", kind=kind, outcome=outcome)

    before = [total("recording", "deleted"), total("deletion_request", "deleted"), total("deletion_request", "failed")]
    now = datetime.now(UTC)
    count_items(CleanupRecordingsResponse(totalDeleted=3, organisationResults=[], processedAt=now))
    results = [
        DeletionRequestResult(requestId=uuid.uuid4(), status=status) for status in ("completed", "failed", "pending")
    ]
    count_items(ProcessDeletionRequestsResponse(requestsProcessed=3, results=results, processedAt=now))
    after = [total("recording", "deleted"), total("deletion_request", "deleted"), total("deletion_request", "failed")]
    assert [a - b for a, b in zip(after, before, strict=True)] == [3, 1, 1]


def test_metrics_are_written_as_otlp_json(telemetry_capture):
    from shared.platform.telemetry import http_duration, otlp_metrics, retention_items

    http_duration.record(0.25, {"http.route": "/api/otlp-json-test"})
    retention_items.add(2, {"kind": "otlp-json-test", "outcome": "deleted"})
    document = otlp_metrics(telemetry_capture.reader.get_metrics_data())
    metrics = {m["name"]: m for r in document["resourceMetrics"] for s in r["scopeMetrics"] for m in s["metrics"]}
    histogram = metrics["http.server.request.duration"]["histogram"]
    [point] = [
        p
        for p in histogram["dataPoints"]
        if {"key": "http.route", "value": {"stringValue": "/api/otlp-json-test"}} in p["attributes"]
    ]
    assert point["count"] == "1" and point["sum"] == 0.25 and histogram["aggregationTemporality"] == 2
    counter = metrics["talenti.retention.items"]["sum"]
    assert counter["isMonotonic"] is True
    assert any(
        p["asInt"] == "2"
        for p in counter["dataPoints"]
        if {"key": "kind", "value": {"stringValue": "otlp-json-test"}} in p["attributes"]
    )


def test_the_file_exporters_append_one_otlp_json_line_per_export(tmp_path, telemetry_capture):
    from shared.platform.telemetry import _file_exporters, tracer

    spans, metrics = _file_exporters(tmp_path)
    with tracer.start_as_current_span("filed"):
        pass
    spans.export(telemetry_capture.spans())
    metrics.export(telemetry_capture.reader.get_metrics_data())
    [trace_line] = (tmp_path / "traces.jsonl").read_text().splitlines()
    assert json.loads(trace_line)["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["name"] == "filed"
    [metric_line] = (tmp_path / "metrics.jsonl").read_text().splitlines()
    assert "resourceMetrics" in json.loads(metric_line)


def test_azure_mode_hands_the_distro_the_connection_and_the_managed_identity(monkeypatch):
    import azure.monitor.opentelemetry as distro

    from shared.platform import telemetry

    given = {}
    monkeypatch.setattr(distro, "configure_azure_monitor", lambda **kwargs: given.update(kwargs))
    monkeypatch.setattr(telemetry, "_instrument_httpx", lambda: None)
    monkeypatch.setenv(
        "APPLICATIONINSIGHTS_AUTHENTICATION_STRING", "ClientId=11111111-2222-3333-4444-555555555555;Authorization=AAD"
    )
    connection = "InstrumentationKey=00000000-0000-0000-0000-000000000000"
    telemetry._configure_azure(Settings(APP_ENV="test", APPLICATIONINSIGHTS_CONNECTION_STRING=connection))
    assert given["connection_string"] == connection and given["logger_name"] == "talenti"
    assert type(given["credential"]).__name__ == "ManagedIdentityCredential"
    assert given["instrumentation_options"]["psycopg2"] == {"enabled": False}
