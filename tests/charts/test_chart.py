"""The Helm chart: lint, render (in-chart and external NATS/MongoDB), Kubernetes schemas, values schema, CRD."""

from __future__ import annotations

import base64
from typing import Any

import helm_python as helm
import jsonschema
import kubernetes_validate
import pytest
import yaml

from omni.runtime.token_issuer import SigningKey
from tests.charts.conftest import CHART, CRD, EXAMPLE_POOL, EXTERNAL, by_kind, objects, render

SERVICES = ("sessions", "tickets", "knowledge", "routing", "reports", "supervision")
WEB_INGRESS = {"web": {"ingress": {"enabled": True, "host": "desk.example.com", "className": "nginx",
                                   "tlsSecretName": "desk-tls"},
                       "siteOrigins": ["https://www.example.com", "https://shop.example.com"]},
               "grpcTls": {"enabled": True, "secretName": "omni-grpc-tls"}}
SMS = {"sms": {"smsc": "smsc.operator.example:2775", "systemId": "omni", "password": "s3cret", "source": "+8610086"}}


def first_container(workload: dict[str, Any]) -> dict[str, Any]:
    return workload["spec"]["template"]["spec"]["containers"][0]  # type: ignore[no-any-return]


def test_chart_lints_clean() -> None:
    result = helm.lint(str(CHART), strict=True)
    assert result["errors"] == []
    # Severity 1 is "info" (e.g. "icon is recommended"); nothing at warning level or above.
    assert [m for m in result["messages"] if m["severity"] > 1] == []


@pytest.mark.parametrize("values", [{}, EXTERNAL, WEB_INGRESS, SMS], ids=["in-chart", "external", "web-ingress-tls",
                                                                        "sms"])
@pytest.mark.parametrize("kube_version", ["1.30", "1.33"])
def test_every_rendered_object_is_valid_kubernetes(values: dict[str, Any], kube_version: str) -> None:
    rendered = objects(values)
    assert rendered
    for obj in rendered:
        kubernetes_validate.validate(obj, kube_version, strict=True)


def test_crd_is_a_valid_kubernetes_object() -> None:
    kubernetes_validate.validate(yaml.safe_load(CRD.read_text()), "1.33", strict=True)


def test_default_install_has_services_probes_budgets_and_dev_backends() -> None:
    rendered = objects()
    deployments = by_kind(rendered, "Deployment")
    assert set(deployments) == {*(f"omni-omnichannel-{s}" for s in SERVICES), "omni-omnichannel-operator",
                                "omni-omnichannel-issuer", "omni-omnichannel-web"}
    assert set(by_kind(rendered, "Service")) >= {f"omni-omnichannel-{s}" for s in (*SERVICES, "web")}
    assert set(by_kind(rendered, "PodDisruptionBudget")) == {f"omni-omnichannel-{s}" for s in (*SERVICES, "web")}
    assert set(by_kind(rendered, "StatefulSet")) == {"omni-omnichannel-nats", "omni-omnichannel-mongodb"}
    for service in SERVICES:
        pod = deployments[f"omni-omnichannel-{service}"]["spec"]["template"]["spec"]
        container = pod["containers"][0]
        assert container["command"] == ["python", "-m", f"omni.{service}"]
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            assert container[probe]["grpc"] == {"port": 50051}
        assert container["resources"]["requests"]["cpu"]
        assert container["resources"]["limits"]["memory"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
    config = by_kind(rendered, "ConfigMap")["omni-omnichannel-config"]["data"]
    assert config["OMNI_ROUTING_ADDR"] == "omni-omnichannel-routing:50051"
    secrets = by_kind(rendered, "Secret")
    for service in SERVICES:
        assert len(base64.b64decode(secrets["omni-omnichannel-replica-secrets"]["data"][service])) >= 32
    # Token keys are generated on install (tests/security/test_item04_tokens.py: who gets them).
    for secret, key in (("omni-omnichannel-issuer", "signing-key.pem"), ("omni-omnichannel-chat-token-key",
                                                                          "chat-token-key.pem")):
        SigningKey.from_pem(base64.b64decode(secrets[secret]["data"][key]))
    # Per service, with its own user (tests/security/test_chart_backends.py has the rest).
    assert secrets["omni-omnichannel-nats-url"]["stringData"]["tickets"].endswith("@omni-omnichannel-nats:4222")
    assert "directConnection=true" in secrets["omni-omnichannel-mongodb-url"]["stringData"]["tickets"]


def test_sessions_exposes_email_and_chat_listeners() -> None:
    rendered = objects()
    container = first_container(by_kind(rendered, "Deployment")["omni-omnichannel-sessions"])
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["OMNI_SMTP_LISTEN"] == "0.0.0.0:2525"
    assert env["OMNI_WEBSOCKET_LISTEN"] == "0.0.0.0:8765"
    ports = {p["name"] for p in by_kind(rendered, "Service")["omni-omnichannel-sessions"]["spec"]["ports"]}
    assert ports == {"grpc", "smtp", "websocket"}


def env_of(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


def test_sessions_binds_to_the_smsc_with_the_password_from_a_secret_only_sessions_reads() -> None:
    rendered = objects(SMS)
    deployments = by_kind(rendered, "Deployment")
    env = env_of(first_container(deployments["omni-omnichannel-sessions"]))
    assert (env["OMNI_SMS_SMSC"], env["OMNI_SMS_SYSTEM_ID"], env["OMNI_SMS_SOURCE"]) == (
        "smsc.operator.example:2775", "omni", "+8610086")
    assert env["OMNI_SMS_PASSWORD"] == {"secretKeyRef": {"name": "omni-omnichannel-smsc", "key": "password"}}
    secret = by_kind(rendered, "Secret")["omni-omnichannel-smsc"]
    assert base64.b64decode(secret["data"]["password"]) == b"s3cret"
    # Nowhere else: not in the ConfigMap every process reads, not in another service.
    assert "s3cret" not in str(by_kind(rendered, "ConfigMap"))
    for service in SERVICES[1:]:
        assert not any(name.startswith("OMNI_SMS_") for name in env_of(first_container(
            deployments[f"omni-omnichannel-{service}"])))
    # The company's own Secret instead: no chart Secret, the reference names theirs.
    own = objects({"sms": {**SMS["sms"], "password": "", "existingSecret": "operator-smsc"}})
    assert "omni-omnichannel-smsc" not in by_kind(own, "Secret")
    assert env_of(first_container(by_kind(own, "Deployment")["omni-omnichannel-sessions"]))[
        "OMNI_SMS_PASSWORD"] == {"secretKeyRef": {"name": "operator-smsc", "key": "password"}}
    # No SMSC, no SMS channel.
    default = objects()
    assert "omni-omnichannel-smsc" not in by_kind(default, "Secret")
    assert "OMNI_SMS_SMSC" not in env_of(first_container(by_kind(default, "Deployment")["omni-omnichannel-sessions"]))


def test_the_web_gateway_runs_the_services_image_with_its_own_csrf_key_and_no_backend_credentials() -> None:
    rendered = objects()
    web = by_kind(rendered, "Deployment")["omni-omnichannel-web"]
    container = first_container(web)
    assert container["image"] == first_container(by_kind(rendered, "Deployment")["omni-omnichannel-tickets"])["image"]
    assert container["command"] == ["python", "-m", "omni.web"]
    env = env_of(container)
    assert env["OMNI_REPLICA_SECRET"] == {"secretKeyRef": {"name": "omni-omnichannel-replica-secrets", "key": "web"}}
    assert env["OMNI_WEB_LISTEN"] == "0.0.0.0:8080"
    assert env["OMNI_WEB_CHAT_URL"] == "ws://omni-omnichannel-sessions:8765/chat"
    # Production defaults: Secure cookie, no demo website, origin from the request until one is set.
    assert env["OMNI_WEB_COOKIE_SECURE"] == "true"
    assert env["OMNI_WEB_DEMO_SITE"] == "false"
    assert env["OMNI_WEB_PUBLIC_ORIGIN"] == "" and env["OMNI_WEB_SITE_ORIGINS"] == ""
    # It is a client of the services like a browser's user is: no NATS or MongoDB credentials.
    assert "OMNI_NATS_URL" not in env and "OMNI_MONGO_URL" not in env
    assert container["envFrom"] == [{"configMapRef": {"name": "omni-omnichannel-config"}}]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    service = by_kind(rendered, "Service")["omni-omnichannel-web"]["spec"]
    assert service["ports"] == [{"name": "http", "port": 8080, "targetPort": "http", "appProtocol": "http"}]
    assert by_kind(rendered, "Ingress") == {}


def test_the_web_gateway_behind_an_ingress_with_tls_gets_its_origin_and_keeps_websockets_open() -> None:
    rendered = objects(WEB_INGRESS)
    ingress = by_kind(rendered, "Ingress")["omni-omnichannel-web"]
    assert ingress["spec"]["ingressClassName"] == "nginx"
    assert ingress["spec"]["tls"] == [{"hosts": ["desk.example.com"], "secretName": "desk-tls"}]
    [rule] = ingress["spec"]["rules"]
    assert rule["host"] == "desk.example.com"
    assert rule["http"]["paths"] == [{"path": "/", "pathType": "Prefix", "backend": {
        "service": {"name": "omni-omnichannel-web", "port": {"name": "http"}}}}]
    assert ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/proxy-read-timeout"] == "3600"
    web = by_kind(rendered, "Deployment")["omni-omnichannel-web"]
    env = env_of(first_container(web))
    assert env["OMNI_WEB_PUBLIC_ORIGIN"] == "https://desk.example.com"
    assert env["OMNI_WEB_SITE_ORIGINS"] == "https://www.example.com,https://shop.example.com"
    # With gRPC over TLS it verifies the services with the CA alone (it serves no gRPC itself).
    assert env["OMNI_GRPC_TLS_CA_FILE"] == "/etc/omnichannel/grpc-tls/ca.crt"
    tls = next(v for v in web["spec"]["template"]["spec"]["volumes"] if v["name"] == "grpc-tls")
    assert tls["secret"]["items"] == [{"key": "ca.crt", "path": "ca.crt"}]
    explicit = objects({"web": {"publicOrigin": "https://agents.example.com", "ingress": {"enabled": True,
                                                                                          "host": "desk.example.com"}}})
    assert env_of(first_container(by_kind(explicit, "Deployment")["omni-omnichannel-web"]))[
        "OMNI_WEB_PUBLIC_ORIGIN"] == "https://agents.example.com"


def test_only_sessions_gets_the_chat_identity_key_from_the_secret() -> None:
    rendered = objects({"auth": {"chatIdentitySecret": "k" * 40}})
    secret = by_kind(rendered, "Secret")["omni-omnichannel-secrets"]["data"]
    assert base64.b64decode(secret["chat-identity-secret"]) == b"k" * 40
    deployments = by_kind(rendered, "Deployment")
    for service in SERVICES:
        env = {e["name"]: e for e in first_container(deployments[f"omni-omnichannel-{service}"])["env"]}
        assert ("OMNI_CHAT_IDENTITY_SECRET" in env) == (service == "sessions")
    ref = next(e for e in first_container(deployments["omni-omnichannel-sessions"])["env"]
               if e["name"] == "OMNI_CHAT_IDENTITY_SECRET")["valueFrom"]["secretKeyRef"]
    assert ref == {"name": "omni-omnichannel-secrets", "key": "chat-identity-secret", "optional": True}
    generated = by_kind(objects(), "Secret")["omni-omnichannel-secrets"]["data"]
    assert len(base64.b64decode(generated["chat-identity-secret"])) >= 32


def test_routing_runs_several_replicas_that_advertise_their_pod_address() -> None:
    rendered = objects()
    routing = by_kind(rendered, "Deployment")["omni-omnichannel-routing"]
    assert routing["spec"]["replicas"] >= 2
    assert by_kind(rendered, "PodDisruptionBudget")["omni-omnichannel-routing"]["spec"]["maxUnavailable"] == 1
    env = {e["name"]: e for e in first_container(routing)["env"]}
    assert env["OMNI_ADVERTISE_HOST"]["valueFrom"] == {"fieldRef": {"fieldPath": "status.podIP"}}
    others = by_kind(rendered, "Deployment")["omni-omnichannel-tickets"]
    assert "OMNI_ADVERTISE_HOST" not in {e["name"] for e in first_container(others)["env"]}


def test_external_backends_replace_the_in_chart_ones() -> None:
    rendered = objects(EXTERNAL)
    assert by_kind(rendered, "StatefulSet") == {}
    config = by_kind(rendered, "ConfigMap")["omni-omnichannel-config"]["data"]
    assert config["OMNI_OTLP_ENDPOINT"] == EXTERNAL["telemetry"]["otlpEndpoint"]
    secrets = by_kind(rendered, "Secret")
    for service in SERVICES:
        assert secrets["omni-omnichannel-nats-url"]["stringData"][service] == EXTERNAL["nats"]["url"]
        assert secrets["omni-omnichannel-mongodb-url"]["stringData"][service] == EXTERNAL["mongodb"]["url"]
    # The company's own Secrets (chat identity key, client secrets): the chart neither creates nor
    # overwrites them, and runs no issuer of its own.
    assert not {"omni-omnichannel-secrets", "omni-omnichannel-token-clients", "omni-omnichannel-issuer"} & set(secrets)
    assert "omni-omnichannel-issuer" not in by_kind(rendered, "Deployment")
    assert config["OMNI_TOKEN_JWKS"] == EXTERNAL["auth"]["jwksUrl"]
    assert config["OMNI_TOKEN_URL"] == EXTERNAL["auth"]["tokenUrl"]
    assert config["OMNI_TOKEN_ISSUER"] == EXTERNAL["auth"]["issuer"]
    container = first_container(by_kind(rendered, "Deployment")["omni-omnichannel-routing"])
    client = next(e for e in container["env"] if e["name"] == "OMNI_TOKEN_CLIENT_SECRET")
    assert client["valueFrom"]["secretKeyRef"] == {"name": "omnichannel-clients", "key": "routing"}


def test_operator_rbac_is_least_privilege() -> None:
    rendered = objects()
    role = by_kind(rendered, "Role")["omni-omnichannel-operator"]
    granted = {(group, resource): set(rule["verbs"]) for rule in role["rules"]
               for group in rule["apiGroups"] for resource in rule["resources"]}
    assert not any("*" in verbs or "delete" in verbs for verbs in granted.values())
    assert granted[("apps", "deployments")] == {"get", "create", "patch"}
    assert granted[("omnichannel.dev", "agentpools/status")] == {"patch"}
    assert granted[("", "events")] == {"create"}
    assert ("", "secrets") not in granted
    operator = by_kind(rendered, "Deployment")["omni-omnichannel-operator"]
    pod = operator["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "omni-omnichannel-operator"
    assert operator["spec"]["replicas"] == 1
    binding = by_kind(rendered, "RoleBinding")["omni-omnichannel-operator"]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "omni-omnichannel-operator",
                                    "namespace": "contact"}]


def test_the_operator_runs_its_own_image_and_gives_workers_the_services_image() -> None:
    deployments = by_kind(objects({"image": {"repository": "registry.example/omnichannel", "tag": "1.2"},
                                   "operator": {"image": {"repository": "registry.example/omnichannel-operator",
                                                          "tag": "1.2"}}}), "Deployment")
    assert first_container(deployments["omni-omnichannel-tickets"])["image"] == "registry.example/omnichannel:1.2"
    operator = first_container(deployments["omni-omnichannel-operator"])
    assert operator["image"] == "registry.example/omnichannel-operator:1.2"
    worker_image = next(e for e in operator["env"] if e["name"] == "OMNI_WORKER_IMAGE")
    assert worker_image["value"] == "registry.example/omnichannel:1.2"


def test_disabled_parts_are_not_rendered() -> None:
    rendered = objects({"operator": {"enabled": False}, "services": {"knowledge": {"enabled": False}},
                        "web": {"enabled": False, "ingress": {"enabled": True, "host": "desk.example.com"}}})
    assert "omni-omnichannel-operator" not in by_kind(rendered, "Deployment")
    assert "omni-omnichannel-knowledge" not in by_kind(rendered, "Deployment")
    assert by_kind(rendered, "ClusterRole") == {}
    for kind in ("Deployment", "Service", "PodDisruptionBudget", "Ingress", "NetworkPolicy"):
        assert "omni-omnichannel-web" not in by_kind(rendered, kind), kind


def test_notes_tell_how_to_reach_the_services() -> None:
    notes = render()["omnichannel/templates/NOTES.txt"]
    assert "omni-omnichannel-routing.contact.svc:50051" in notes
    assert "kubectl -n contact apply -f examples/agentpool.yaml" in notes
    assert "port-forward svc/omni-omnichannel-web 8080:8080" in notes
    behind_ingress = render({"web": {"ingress": {"enabled": True, "host": "desk.example.com",
                                                 "tlsSecretName": "desk-tls"}}})["omnichannel/templates/NOTES.txt"]
    assert "desk:   https://desk.example.com/desk/" in behind_ingress


@pytest.mark.parametrize(("values", "complaint"), [
    ({"services": {"tickets": {"replicas": 0}}}, "/services/tickets/replicas"),
    ({"nats": {"enabled": False}}, "/nats/url"),
    ({"mongodb": {"enabled": False, "url": "postgres://db"}}, "/mongodb/url"),
    ({"auth": {"jwtSecret": "x" * 40}}, "additional properties 'jwtSecret' not allowed"),
    ({"issuer": {"enabled": False}}, "/auth"),
    ({"auth": {"existingClientSecret": "mine"}}, "/auth/existingClientSecret"),
    ({"auth": {"jwksUrl": "idp.example/certs"}}, "/auth/jwksUrl"),
    ({"auth": {"chatIdentitySecret": "too-short"}}, "/auth/chatIdentitySecret"),
    ({"image": {"pullPolicy": "Sometimes"}}, "/image/pullPolicy"),
    ({"services": {"routing": {"resources": {"requests": {"cpu": "lots"}}}}}, "/services/routing/resources"),
    ({"telemetry": {"otlpEndpoint": "collector:4317"}}, "/telemetry/otlpEndpoint"),
    ({"operator": {"pollSeconds": 0}}, "/operator/pollSeconds"),
    ({"operator": {"image": {"repository": ""}}}, "/operator/image/repository"),
    ({"replicaCount": 3}, "additional properties 'replicaCount' not allowed"),
    ({"web": {"replicas": 0}}, "/web/replicas"),
    ({"web": {"publicOrigin": "https://desk.example.com/"}}, "/web/publicOrigin"),
    ({"web": {"siteOrigins": ["www.example.com"]}}, "/web/siteOrigins/0"),
    ({"web": {"ingress": {"enabled": True}}}, "/web/ingress"),
    ({"web": {"ingress": {"enabled": True, "host": "Desk Example"}}}, "/web/ingress/host"),
    ({"sms": {"smsc": "smsc:2775", "systemId": "omni"}}, "/sms"),  # a password, or a Secret with it
    ({"sms": {"smsc": "smsc", "systemId": "omni", "password": "x"}}, "/sms/smsc"),
    ({"sms": {"smsc": "smsc:2775", "systemId": "omni", "password": "longer-than-8"}}, "/sms/password"),
])
def test_bad_values_are_rejected_by_the_schema(values: dict[str, Any], complaint: str) -> None:
    with pytest.raises(helm.HelmValuesError) as raised:
        render(values)
    assert complaint in str(raised.value)


def crd_schema() -> dict[str, Any]:
    crd = yaml.safe_load(CRD.read_text())
    return crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]  # type: ignore[no-any-return]


def test_example_agentpool_validates_against_the_crd_schema() -> None:
    pool = yaml.safe_load(EXAMPLE_POOL.read_text())
    crd = yaml.safe_load(CRD.read_text())
    assert pool["apiVersion"] == f"{crd['spec']['group']}/{crd['spec']['versions'][0]['name']}"
    assert pool["kind"] == crd["spec"]["names"]["kind"]
    # Kubernetes' structural schemas are OpenAPI v3 = JSON Schema draft 4 semantics (boolean exclusiveMinimum).
    jsonschema.Draft4Validator(crd_schema()).validate(pool)


@pytest.mark.parametrize(("change", "field"), [
    ({"queues": []}, "queues"),
    ({"sessionsPerReplica": 0}, "sessionsPerReplica"),
    ({"serviceLevel": {"percent": 100, "seconds": 20}}, "percent"),
    ({"worker": {"deploymentName": "Bad_Name"}}, "deploymentName"),
])
def test_bad_agentpools_are_rejected_by_the_crd_schema(change: dict[str, Any], field: str) -> None:
    pool = yaml.safe_load(EXAMPLE_POOL.read_text())
    pool["spec"].update(change)
    with pytest.raises(jsonschema.ValidationError) as raised:
        jsonschema.Draft4Validator(crd_schema()).validate(pool)
    assert field in "/".join(str(p) for p in raised.value.absolute_path) or field in raised.value.message


def test_crd_has_status_scale_and_printer_columns() -> None:
    version = yaml.safe_load(CRD.read_text())["spec"]["versions"][0]
    assert version["subresources"]["status"] == {}
    assert version["subresources"]["scale"]["statusReplicasPath"] == ".status.currentReplicas"
    columns = {c["name"] for c in version["additionalPrinterColumns"]}
    assert {"Desired", "Current", "Bot-Waiting", "Bot-Busy", "Waiting", "Agents-Needed"} <= columns
