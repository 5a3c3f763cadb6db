"""Telemetry in tests: the SDK's in-memory exporter and reader behind the app's
OpenTelemetry API calls.

OpenTelemetry lets a process set its tracer and meter providers once, so the
first test that asks installs them for the rest of the process; a switchable
sampler records spans only while a test holds the capture (the other tests pay
for no spans), and each test starts from an empty exporter.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.context import Context
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult
from opentelemetry.trace import Link, SpanKind
from opentelemetry.util.types import Attributes


class _Switch(Sampler):
    def __init__(self) -> None:
        self.on = False

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: Any = None,
    ) -> SamplingResult:
        return SamplingResult(Decision.RECORD_AND_SAMPLE if self.on else Decision.DROP, attributes)

    def get_description(self) -> str:
        return "tests: on while a test captures"


class Capture:
    _installed: Capture | None = None

    def __init__(self) -> None:
        self.switch = _Switch()
        self.exporter = InMemorySpanExporter()
        provider = TracerProvider(sampler=self.switch)
        provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.reader = InMemoryMetricReader()
        trace.set_tracer_provider(provider)
        metrics.set_meter_provider(MeterProvider(metric_readers=[self.reader]))
        if not isinstance(trace.get_tracer_provider(), TracerProvider):
            raise RuntimeError("another tracer provider was installed first in this process")

    @classmethod
    def start(cls) -> Capture:
        if cls._installed is None:
            cls._installed = cls()
        cls._installed.exporter.clear()
        cls._installed.switch.on = True
        return cls._installed

    def stop(self) -> None:
        self.switch.on = False
        self.exporter.clear()

    def spans(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())

    def named(self, name: str) -> list[ReadableSpan]:
        return [s for s in self.spans() if s.name == name]

    def trace_of(self, span: ReadableSpan) -> list[ReadableSpan]:
        trace_id = span.context.trace_id
        return [s for s in self.spans() if s.context.trace_id == trace_id]

    def points(self, name: str) -> list[Any]:
        """The data points of one metric so far (cumulative over the process)."""
        data = self.reader.get_metrics_data()
        if data is None:
            return []
        return [
            point
            for resource in data.resource_metrics
            for scope in resource.scope_metrics
            for metric in scope.metrics
            if metric.name == name
            for point in metric.data.data_points
        ]

    def total(self, name: str, **attributes: Any) -> float:
        """A counter's sum, or a histogram's count, over the points carrying these attributes."""
        found = 0.0
        for point in self.points(name):
            if all(point.attributes.get(k) == v for k, v in attributes.items()):
                found += getattr(point, "count", None) if hasattr(point, "bucket_counts") else point.value
        return found
