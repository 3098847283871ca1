"""OpenTelemetry tracing: spans per stream, context carried into Kafka record headers."""

from __future__ import annotations

import logging

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter

log = logging.getLogger(__name__)


def _exporter(kind: str) -> SpanExporter | None:
    if kind == "console":
        return ConsoleSpanExporter()
    if kind == "otlp":
        try:
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (  # type: ignore[import-not-found]
                OTLPSpanExporter,
            )
        except ImportError:
            log.warning("tracing_exporter=otlp needs opentelemetry-exporter-otlp; tracing is off")
            return None
        exporter: SpanExporter = OTLPSpanExporter()
        return exporter
    return None


def configure_tracing(kind: str) -> None:
    """Install a tracer provider when an exporter is configured (the API is a no-op otherwise)."""
    exporter = _exporter(kind)
    if exporter is None:
        return
    provider = TracerProvider(resource=Resource.create({"service.name": "stenograph-node"}))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
