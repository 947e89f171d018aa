"""Render the chart with Helm's own engine (helm-python-sdk) and parse what it produces."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import helm_python as helm
import yaml

CHART = Path(__file__).resolve().parents[2] / "charts" / "omnichannel"
CRD = CHART / "crds" / "agentpools.omnichannel.dev.yaml"
EXAMPLE_POOL = CHART / "examples" / "agentpool.yaml"
EXTERNAL = {
    "nats": {"enabled": False, "url": "nats://nats.messaging.svc:4222"},
    "mongodb": {"enabled": False, "url": "mongodb://db-0.mongo,db-1.mongo,db-2.mongo/?replicaSet=rs0"},
    # An identity provider of the company's instead of the chart's issuer.
    "issuer": {"enabled": False},
    "auth": {"existingSecret": "omnichannel-chat-identity", "issuer": "https://idp.example/realms/contact",
             "jwksUrl": "https://idp.example/realms/contact/certs", "tokenUrl": "https://idp.example/realms/contact/token",
             "existingClientSecret": "omnichannel-clients"},
    "telemetry": {"otlpEndpoint": "http://otel-collector.observability:4317"},
}


def render(values: dict[str, Any] | None = None) -> dict[str, str]:
    with helm.Chart.load(str(CHART)) as chart:
        return chart.render(values or {}, name="omni", namespace="contact")  # type: ignore[no-any-return]


def objects(values: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    found = []
    for path, text in render(values).items():
        if path.endswith(".yaml"):
            found.extend(doc for doc in yaml.safe_load_all(text) if doc)
    return found


def by_kind(objs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in objs if o["kind"] == kind}
