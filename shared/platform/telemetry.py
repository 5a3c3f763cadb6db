"""Traces and metrics through OpenTelemetry (docs/OPERATIONS.md).

Code everywhere records through the OpenTelemetry *API* only (the tracer and
meter below, and the instruments named in this module): until a provider is
installed they are no-ops that cost a function call. The API is already loaded
by the Functions libraries; the SDK and the Azure Monitor distro are imported
only inside `configure_telemetry`, which runs once, when the services are first
built (shared/platform/wiring.py), and only when telemetry is configured:

    TELEMETRY_EXPORTER  unset  -> azure when APPLICATIONINSIGHTS_CONNECTION_STRING is set, else none
                        none   -> nothing exported (the connection string is ignored)
                        azure  -> the Azure Monitor OpenTelemetry distro (Application Insights)
                        console-> spans and metrics printed to stdout
                        file   -> OTLP JSON lines under .local/telemetry (traces.jsonl, metrics.jsonl)

The SDK allows one tracer and one meter provider per process, so tests install
theirs once (tests/telemetry.py) and read spans from an in-memory exporter.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from opentelemetry import metrics, trace
from opentelemetry.context import Context
from opentelemetry.trace import Link, Span, SpanKind, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

if TYPE_CHECKING:
    from opentelemetry.sdk.metrics.export import MetricExportResult, MetricsData
    from opentelemetry.sdk.trace import ReadableSpan
    from opentelemetry.sdk.trace.export import SpanExportResult

    from shared.platform.config import Settings

SERVICE_NAME = "talenti-api"

# Proxies: they start delegating once a provider is installed, whenever that is.
tracer = trace.get_tracer("talenti")
meter = metrics.get_meter("talenti")

# The names the workbook and alert rules query (customMetrics in Application Insights).
http_duration = meter.create_histogram(
    "http.server.request.duration", unit="s", description="HTTP requests handled by the app"
)
ai_call_duration = meter.create_histogram("talenti.ai.call.duration", unit="ms", description="One model call")
ai_tokens = meter.create_counter("talenti.ai.tokens", unit="{token}", description="Model tokens used")
scoring_run_duration = meter.create_histogram(
    "talenti.scoring.run.duration", unit="s", description="A scoring run, from its start to its end"
)
db_pool_wait = meter.create_histogram(
    "talenti.db.pool.wait", unit="ms", description="Waiting for a pooled database connection"
)
db_pool_exhausted = meter.create_counter(
    "talenti.db.pool.exhausted", description="Requests answered 503 Database unavailable"
)
rate_limit_refused = meter.create_counter("talenti.rate_limit.refused", description="429s by bucket")
events_processed = meter.create_counter("talenti.events.processed", description="ACS events by outcome")
retention_items = meter.create_counter("talenti.retention.items", description="Retention deletions by outcome")

_propagator = TraceContextTextMapPropagator()
_configured: str | None = None
_lock = threading.Lock()


def exporter_for(settings: Settings) -> str:
    """The exporter the settings ask for (see the module docstring)."""
    if settings.TELEMETRY_EXPORTER:
        return settings.TELEMETRY_EXPORTER
    return "azure" if settings.APPLICATIONINSIGHTS_CONNECTION_STRING else "none"


def configure_telemetry(settings: Settings) -> str:
    """Install the exporter once per process; returns its name ("none": nothing loaded)."""
    global _configured
    with _lock:
        if _configured is not None:
            return _configured
        chosen = exporter_for(settings)
        if chosen == "azure":
            _configure_azure(settings)
        elif chosen in ("console", "file"):
            from shared.platform.config import LOCAL_DIR

            _configure_sdk(chosen, LOCAL_DIR / "telemetry")
        _configured = chosen
        return chosen


def _configure_azure(settings: Settings) -> None:
    from azure.monitor.opentelemetry import configure_azure_monitor

    options: dict[str, Any] = {}
    # The deployment authenticates the exporter with the app's managed identity (infra/main.bicep
    # sets APPLICATIONINSIGHTS_AUTHENTICATION_STRING "ClientId=...;Authorization=AAD").
    auth = dict(
        part.split("=", 1)
        for part in os.environ.get("APPLICATIONINSIGHTS_AUTHENTICATION_STRING", "").split(";")
        if "=" in part
    )
    if auth.get("Authorization", "").upper() == "AAD":
        from azure.identity import ManagedIdentityCredential

        options["credential"] = ManagedIdentityCredential(client_id=auth.get("ClientId"))
    configure_azure_monitor(
        connection_string=settings.APPLICATIONINSIGHTS_CONNECTION_STRING,
        logger_name="talenti",  # our JSON lines become traces correlated with the spans
        resource=_resource(),
        # The app is no Django/Flask/FastAPI server and uses psycopg 3: spans for those come from here.
        instrumentation_options={name: {"enabled": False} for name in ("django", "flask", "fastapi", "psycopg2")},
        **options,
    )
    _instrument_httpx()


def _resource() -> Any:
    from opentelemetry.sdk.resources import Resource

    return Resource.create({"service.name": SERVICE_NAME})


def _configure_sdk(kind: str, folder: Path) -> None:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import ConsoleMetricExporter, PeriodicExportingMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

    span_exporter: Any
    metric_exporter: Any
    if kind == "file":
        folder.mkdir(parents=True, exist_ok=True)
        span_exporter, metric_exporter = _file_exporters(folder)
    else:
        span_exporter, metric_exporter = ConsoleSpanExporter(), ConsoleMetricExporter()
    tracer_provider = TracerProvider(resource=_resource())
    tracer_provider.add_span_processor(BatchSpanProcessor(span_exporter))
    trace.set_tracer_provider(tracer_provider)
    reader = PeriodicExportingMetricReader(metric_exporter, export_interval_millis=10_000)
    metrics.set_meter_provider(MeterProvider(resource=_resource(), metric_readers=[reader]))
    instrument_libraries()


def instrument_libraries() -> None:
    """Outbound HTTP spans: Azure SDK clients (ACS, Blob) and httpx (Speech, Resend, the model)."""
    from azure.core.settings import settings as azure_settings

    azure_settings.tracing_implementation = "opentelemetry"  # azure-core-tracing-opentelemetry
    _instrument_httpx()


def _instrument_httpx() -> None:
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

    instrumentor = HTTPXClientInstrumentor()
    if not instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.instrument()


# --- local files: OTLP JSON, one export batch a line ---------------------------------------


def _file_exporters(folder: Path) -> tuple[Any, Any]:
    from opentelemetry.sdk.metrics.export import MetricExporter, MetricExportResult
    from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

    class FileSpans(SpanExporter):
        def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
            _append(folder / "traces.jsonl", otlp_spans(spans))
            return SpanExportResult.SUCCESS

    class FileMetrics(MetricExporter):
        def export(
            self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any
        ) -> MetricExportResult:
            _append(folder / "metrics.jsonl", otlp_metrics(metrics_data))
            return MetricExportResult.SUCCESS

        def force_flush(self, timeout_millis: float = 10_000) -> bool:
            return True

        def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
            return None

    return FileSpans(), FileMetrics()


def _append(path: Path, record: Any) -> None:
    with path.open("a", encoding="utf-8") as out:
        out.write(json.dumps(record, separators=(",", ":"), default=str) + "\n")


def _otlp_value(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, (list, tuple)):
        return {"arrayValue": {"values": [_otlp_value(v) for v in value]}}
    return {"stringValue": str(value)}


def _otlp_attributes(attributes: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    return [{"key": key, "value": _otlp_value(value)} for key, value in (attributes or {}).items()]


def otlp_spans(spans: Sequence[ReadableSpan]) -> dict[str, Any]:
    """The OTLP/JSON `ExportTraceServiceRequest` for a batch of finished spans (ids in hex)."""
    by_resource: dict[int, tuple[Any, list[dict[str, Any]]]] = {}
    for span in spans:
        ctx = span.get_span_context()
        if ctx is None:
            continue
        entry: dict[str, Any] = {
            "traceId": f"{ctx.trace_id:032x}",
            "spanId": f"{ctx.span_id:016x}",
            "name": span.name,
            "kind": int(span.kind.value) + 1,  # OTLP counts from UNSPECIFIED = 0
            "startTimeUnixNano": str(span.start_time),
            "endTimeUnixNano": str(span.end_time),
            "attributes": _otlp_attributes(span.attributes),
            "status": {"code": {"UNSET": 0, "OK": 1, "ERROR": 2}[span.status.status_code.name]},
        }
        if span.parent is not None:
            entry["parentSpanId"] = f"{span.parent.span_id:016x}"
        if span.links:
            entry["links"] = [
                {"traceId": f"{link.context.trace_id:032x}", "spanId": f"{link.context.span_id:016x}"}
                for link in span.links
            ]
        by_resource.setdefault(id(span.resource), (span.resource, []))[1].append(entry)
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": _otlp_attributes(resource.attributes)},
                "scopeSpans": [{"scope": {"name": "talenti"}, "spans": entries}],
            }
            for resource, entries in by_resource.values()
        ]
    }


def _otlp_point(point: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "attributes": _otlp_attributes(point.attributes),
        "startTimeUnixNano": str(point.start_time_unix_nano),
        "timeUnixNano": str(point.time_unix_nano),
    }
    if hasattr(point, "bucket_counts"):  # a histogram's point
        entry.update(
            count=str(point.count),
            sum=point.sum,
            bucketCounts=[str(n) for n in point.bucket_counts],
            explicitBounds=list(point.explicit_bounds),
            min=point.min,
            max=point.max,
        )
    elif isinstance(point.value, int):
        entry["asInt"] = str(point.value)
    else:
        entry["asDouble"] = point.value
    return entry


def otlp_metrics(data: MetricsData) -> dict[str, Any]:
    """The OTLP/JSON `ExportMetricsServiceRequest` for one collection (sums, histograms, gauges)."""
    resources = []
    for resource_metrics in data.resource_metrics:
        scopes = []
        for scope_metrics in resource_metrics.scope_metrics:
            entries = []
            for metric in scope_metrics.metrics:
                series: Any = metric.data  # Sum, Histogram or Gauge (no exponential histograms here)
                kind = type(series).__name__
                body: dict[str, Any] = {"dataPoints": [_otlp_point(p) for p in series.data_points]}
                if kind != "Gauge":
                    body["aggregationTemporality"] = int(series.aggregation_temporality)
                if kind == "Sum":
                    body["isMonotonic"] = series.is_monotonic
                key = {"Sum": "sum", "Histogram": "histogram"}.get(kind, "gauge")
                entries.append({"name": metric.name, "unit": metric.unit or "", key: body})
            scopes.append({"scope": {"name": scope_metrics.scope.name}, "metrics": entries})
        resources.append(
            {"resource": {"attributes": _otlp_attributes(resource_metrics.resource.attributes)}, "scopeMetrics": scopes}
        )
    return {"resourceMetrics": resources}


# --- helpers the app uses ------------------------------------------------------------------


def carrier() -> dict[str, str]:
    """The current trace as W3C headers ({"traceparent": ...}); empty outside any trace."""
    headers: dict[str, str] = {}
    _propagator.inject(headers)
    return headers


def context_from(traceparent: str | None) -> Context | None:
    """The remote parent a W3C traceparent names, or None (then a span starts a trace)."""
    if not traceparent:
        return None
    ctx = _propagator.extract({"traceparent": traceparent})
    return ctx if trace.get_current_span(ctx).get_span_context().is_valid else None


def links_to(traceparent: str | None) -> list[Link]:
    """A link to the trace a queued message was produced in (none without a valid traceparent)."""
    parent = context_from(traceparent)
    return [Link(trace.get_current_span(parent).get_span_context())] if parent is not None else []


def incoming_context(traceparent: str | None) -> Context | None:
    """A caller's W3C trace to continue, unless the platform already made its span current."""
    if trace.get_current_span().get_span_context().is_valid:
        return None
    return context_from(traceparent)


def tracing() -> bool:
    """Whether spans are recorded at all (a provider is installed): lets hot paths skip building attributes."""
    return not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)


def server_kind() -> SpanKind:
    """SERVER for a request nobody traced yet (the local host); in Azure the worker has made
    the host's invocation span current, and ours is its INTERNAL child."""
    return SpanKind.INTERNAL if trace.get_current_span().get_span_context().is_valid else SpanKind.SERVER


@contextmanager
def child_span(
    name: str,
    traceparent: str | None,
    kind: SpanKind = SpanKind.INTERNAL,
    attributes: Mapping[str, Any] | None = None,
) -> Iterator[Span]:
    """A span continuing the trace `traceparent` names (a Durable activity), else a new trace."""
    with tracer.start_as_current_span(
        name, context=context_from(traceparent), kind=kind, attributes=_clean(attributes or {})
    ) as span:
        yield span


def mark_error(span: Span, status: int) -> None:
    if status >= 500:
        span.set_status(StatusCode.ERROR)


def _clean(attributes: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in attributes.items() if value is not None}
