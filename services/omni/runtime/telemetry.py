"""OpenTelemetry: traces across gRPC and NATS hops, OTLP export when configured."""

from __future__ import annotations

from collections.abc import Mapping

from opentelemetry import metrics, propagate, trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor


def configure_tracing(service: str, otlp_endpoint: str) -> None:
    """Install a tracer provider for `service`; export over OTLP only when an endpoint is set.

    Without an endpoint spans are still created (so trace ids flow through NATS headers
    and logs) but go nowhere.
    """
    if isinstance(trace.get_tracer_provider(), TracerProvider):
        return  # already configured (tests install their own provider first)
    provider = TracerProvider(resource=Resource.create({"service.name": f"omnichannel-{service}"}))
    if otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=otlp_endpoint, insecure=True)))
    trace.set_tracer_provider(provider)


def configure_metrics(service: str, otlp_endpoint: str) -> None:
    """Export the service's OpenTelemetry metrics over OTLP every 15 s when an endpoint is set
    (without one, instruments stay no-ops)."""
    if not otlp_endpoint:
        return
    from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

    reader = PeriodicExportingMetricReader(OTLPMetricExporter(endpoint=otlp_endpoint, insecure=True),
                                           export_interval_millis=15_000)
    metrics.set_meter_provider(MeterProvider(
        metric_readers=[reader], resource=Resource.create({"service.name": f"omnichannel-{service}"})))


def inject_headers(headers: dict[str, str]) -> dict[str, str]:
    """Write the current trace context (W3C traceparent) into message headers."""
    propagate.inject(headers)
    return headers


def extract_context(headers: Mapping[str, str] | None) -> Context:
    return propagate.extract(dict(headers or {}))


def tracer(name: str) -> trace.Tracer:
    return trace.get_tracer(name)
