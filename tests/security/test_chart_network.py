"""Issue 13, item 3: the chart's default-deny NetworkPolicies, evaluated the way Kubernetes does
for traffic inside the release namespace: a connection passes when the source's egress and the
destination's ingress both allow it (a pod no policy selects for a direction is open in it)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.charts.conftest import EXTERNAL, by_kind, objects

RELEASE = {"app.kubernetes.io/name": "omnichannel", "app.kubernetes.io/instance": "omni"}
SERVICES = ("sessions", "tickets", "knowledge", "routing", "supervision")
# The labels the bot workers get from the operator (agentpool_operator/worker_deployment.py).
WORKER = {"app.kubernetes.io/name": "omnichannel-worker", "app.kubernetes.io/instance": "billing-bots",
          "app.kubernetes.io/component": "bot-worker", "app.kubernetes.io/managed-by": "agentpool-operator",
          "omnichannel.dev/agentpool": "billing-bots"}
STRANGER = {"app": "some-other-app"}
GRPC, SMTP, WEBSOCKET, NATS, MONGODB, WEB = 50051, 2525, 8765, 4222, 27017, 8080


def component(name: str) -> dict[str, str]:
    return {**RELEASE, "app.kubernetes.io/component": name}


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    assert set(selector) <= {"matchLabels"}, "the evaluator knows matchLabels only"
    return all(labels.get(k) == v for k, v in (selector.get("matchLabels") or {}).items())


def peer_matches(peer: dict[str, Any], labels: dict[str, str] | None) -> bool:
    """`labels` None: a pod outside the namespace or an address outside the cluster."""
    if "namespaceSelector" in peer or "ipBlock" in peer:
        return labels is None
    return labels is not None and selects(peer["podSelector"], labels)


def rule_allows(rule: dict[str, Any], side: str, peer: dict[str, str] | None, port: int) -> bool:
    ports = rule.get("ports")
    if ports is not None and not any(p["port"] == port for p in ports):
        return False
    peers = rule.get(side)
    return peers is None or any(peer_matches(p, peer) for p in peers)


def allowed(policies: list[dict[str, Any]], direction: str, pod: dict[str, str], peer: dict[str, str] | None,
            port: int) -> bool:
    selecting = [p["spec"] for p in policies if selects(p["spec"]["podSelector"], pod)
                 and direction in p["spec"]["policyTypes"]]
    if not selecting:
        return True
    key, side = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
    return any(rule_allows(rule, side, peer, port) for spec in selecting for rule in spec.get(key) or ())


def reaches(policies: list[dict[str, Any]], source: dict[str, str] | None, target: dict[str, str] | None,
            port: int) -> bool:
    out = source is None or allowed(policies, "Egress", source, target, port)
    into = target is None or allowed(policies, "Ingress", target, source, port)
    return out and into


@pytest.fixture(scope="module")
def policies() -> list[dict[str, Any]]:
    return list(by_kind(objects(), "NetworkPolicy").values())


def test_every_pod_of_the_release_is_denied_by_default(policies: list[dict[str, Any]]) -> None:
    deny = by_kind(objects(), "NetworkPolicy")["omni-omnichannel-default-deny"]["spec"]
    assert deny == {"podSelector": {"matchLabels": RELEASE}, "policyTypes": ["Ingress", "Egress"]}
    # A component of the release without a policy of its own stays cut off both ways.
    assert not reaches(policies, component("reports"), component("tickets"), GRPC)
    assert not reaches(policies, None, component("reports"), WEB)


@pytest.mark.parametrize(("source", "target", "port", "expected"), [
    # Only the four services reach NATS and MongoDB.
    *[(component(s), component("nats"), NATS, True) for s in SERVICES],
    *[(component(s), component("mongodb"), MONGODB, True) for s in SERVICES],
    (WORKER, component("nats"), NATS, False),
    (WORKER, component("mongodb"), MONGODB, False),
    (component("operator"), component("mongodb"), MONGODB, False),
    (component("operator"), component("nats"), NATS, False),
    (STRANGER, component("nats"), NATS, False),
    (None, component("mongodb"), MONGODB, False),
    # Only sessions accepts mail and chat, from anywhere.
    (None, component("sessions"), SMTP, True),
    (None, component("sessions"), WEBSOCKET, True),
    (STRANGER, component("sessions"), SMTP, True),
    (None, component("tickets"), SMTP, False),
    # gRPC: who calls whom, and the gateway to come; nobody else.
    (component("routing"), component("tickets"), GRPC, True),
    (component("routing"), component("knowledge"), GRPC, True),
    (WORKER, component("routing"), GRPC, True),
    (WORKER, component("knowledge"), GRPC, True),
    (WORKER, component("sessions"), GRPC, True),
    (WORKER, component("tickets"), GRPC, False),
    (component("operator"), component("routing"), GRPC, True),
    (component("operator"), component("tickets"), GRPC, False),
    # A starting call's accessibility needs (the caller's customer tags).
    (component("sessions"), component("tickets"), GRPC, True),
    (component("sessions"), component("routing"), GRPC, False),
    *[(STRANGER, component(s), GRPC, False) for s in SERVICES],
    *[(None, component(s), GRPC, False) for s in SERVICES],
    # The web gateway: its port from the ingress controller (outside the namespace) only; it calls
    # every service's gRPC and sessions' chat socket, never the backends or other ports.
    (None, component("web"), WEB, True),
    (STRANGER, component("web"), WEB, False),
    (WORKER, component("web"), WEB, False),
    (None, component("web"), GRPC, False),
    *[(component("web"), component(s), GRPC, True) for s in SERVICES],
    (component("web"), component("sessions"), WEBSOCKET, True),
    (component("web"), component("sessions"), SMTP, False),
    (component("web"), component("tickets"), WEBSOCKET, False),
    (component("web"), component("nats"), NATS, False),
    (component("web"), component("mongodb"), MONGODB, False),
    (component("web"), component("operator"), 8080, False),
    (component("web"), None, 443, False),
    (component("routing"), component("web"), WEB, False),
    # Out of the cluster: the operator to the API server, sessions to its mail relay; no one else.
    (component("operator"), None, 443, True),
    (component("sessions"), None, 25, True),
    (component("tickets"), None, 25, False),
    (WORKER, None, 443, False),
    (component("nats"), None, 443, False),
])
def test_who_reaches_what(policies: list[dict[str, Any]], source: dict[str, str] | None,
                          target: dict[str, str] | None, port: int, expected: bool) -> None:
    assert reaches(policies, source, target, port) is expected


def test_external_backends_are_reached_only_by_the_services() -> None:
    policies = list(by_kind(objects(EXTERNAL), "NetworkPolicy").values())
    assert "omni-omnichannel-nats" not in by_kind(objects(EXTERNAL), "NetworkPolicy")
    for service in SERVICES:
        assert reaches(policies, component(service), None, NATS)
        assert reaches(policies, component(service), None, MONGODB)
    assert not reaches(policies, WORKER, None, NATS)
    assert not reaches(policies, component("operator"), None, MONGODB)
    # The collector is configured in EXTERNAL: the services and workers may send traces to it.
    assert reaches(policies, WORKER, None, 4317) and reaches(policies, component("routing"), None, 4317)


def test_peers_given_as_values_may_call_grpc() -> None:
    ingress = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}
    policies = list(by_kind(objects({"networkPolicy": {"grpcFrom": [ingress]}}), "NetworkPolicy").values())
    assert reaches(policies, None, component("tickets"), GRPC)


def test_who_reaches_the_web_gateway_is_configurable() -> None:
    ingress = {"podSelector": {"matchLabels": {"app": "edge-proxy"}}}
    policies = list(by_kind(objects({"networkPolicy": {"webFrom": [ingress]}}), "NetworkPolicy").values())
    assert reaches(policies, {"app": "edge-proxy"}, component("web"), WEB)
    assert not reaches(policies, None, component("web"), WEB)
    closed = list(by_kind(objects({"networkPolicy": {"webFrom": []}}), "NetworkPolicy").values())
    assert not reaches(closed, None, component("web"), WEB)
    moved = list(by_kind(objects({"web": {"port": 9090}}), "NetworkPolicy").values())
    assert reaches(moved, None, component("web"), 9090) and not reaches(moved, None, component("web"), WEB)


def test_the_web_gateway_follows_the_chat_port_and_reaches_the_collector_when_one_is_set() -> None:
    ports = [{"name": "smtp", "port": 2525, "env": "OMNI_SMTP_LISTEN"},
             {"name": "websocket", "port": 9765, "env": "OMNI_WEBSOCKET_LISTEN"}]
    policies = list(by_kind(objects({"services": {"sessions": {"extraPorts": ports}}}), "NetworkPolicy").values())
    assert reaches(policies, component("web"), component("sessions"), 9765)
    assert not reaches(policies, component("web"), component("sessions"), WEBSOCKET)
    assert not reaches(policies, component("web"), None, 4317)
    traced = list(by_kind(objects(EXTERNAL), "NetworkPolicy").values())
    assert reaches(traced, component("web"), None, 4317)


def test_only_clusterip_services() -> None:
    assert {s["spec"].get("type", "ClusterIP") for s in by_kind(objects(), "Service").values()} == {"ClusterIP"}


def test_sessions_alone_reaches_the_smsc_once_one_is_set(policies: list[dict[str, Any]]) -> None:
    assert not reaches(policies, component("sessions"), None, 2775)  # no SMSC configured
    sms = list(by_kind(objects({"sms": {"smsc": "smsc.example:2775", "systemId": "omni", "password": "pw"}}),
                       "NetworkPolicy").values())
    assert reaches(sms, component("sessions"), None, 2775)
    assert not any(reaches(sms, component(s), None, 2775) for s in SERVICES[1:])
    assert not reaches(sms, WORKER, None, 2775)


def test_network_policies_can_be_left_to_the_cluster() -> None:
    assert by_kind(objects({"networkPolicy": {"enabled": False}}), "NetworkPolicy") == {}
