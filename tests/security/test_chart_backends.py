"""Issue 13, item 3: the rendered chart keeps every backend credential in a Secret, gives each
service its own NATS and MongoDB user, turns authentication on in the dev MongoDB, and mounts the
certificates and sets the TLS settings when TLS is asked for."""

from __future__ import annotations

import base64
import re
from typing import Any

import helm_python as helm
import kubernetes_validate
import pytest

from tests.charts.conftest import EXTERNAL, by_kind, objects

SERVICES = ("sessions", "tickets", "knowledge", "routing", "supervision")
FULLNAME = "omni-omnichannel"


def container(rendered: list[dict[str, Any]], name: str) -> dict[str, Any]:
    workload = {**by_kind(rendered, "Deployment"), **by_kind(rendered, "StatefulSet")}[f"{FULLNAME}-{name}"]
    return workload["spec"]["template"]["spec"]["containers"][0]  # type: ignore[no-any-return]


def env(rendered: list[dict[str, Any]], name: str) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in container(rendered, name).get("env") or ()}


def volumes(rendered: list[dict[str, Any]], name: str) -> dict[str, dict[str, Any]]:
    workload = {**by_kind(rendered, "Deployment"), **by_kind(rendered, "StatefulSet")}[f"{FULLNAME}-{name}"]
    return {v["name"]: v for v in workload["spec"]["template"]["spec"].get("volumes") or ()}


def secret_value(rendered: list[dict[str, Any]], name: str, key: str) -> str:
    secret = by_kind(rendered, "Secret")[name]
    if key in secret.get("stringData", {}):
        return str(secret["stringData"][key])
    return base64.b64decode(secret["data"][key]).decode()


@pytest.mark.parametrize("values", [{}, EXTERNAL], ids=["in-chart", "external"])
def test_backend_urls_come_from_secrets_one_key_per_service(values: dict[str, Any]) -> None:
    rendered = objects(values)
    config = by_kind(rendered, "ConfigMap")[f"{FULLNAME}-config"]["data"]
    assert not {"OMNI_NATS_URL", "OMNI_MONGO_URL"} & set(config), "the ConfigMap every pod reads"
    for service in SERVICES:
        variables = env(rendered, service)
        assert variables["OMNI_NATS_URL"]["valueFrom"] == {
            "secretKeyRef": {"name": f"{FULLNAME}-nats-url", "key": service}}
        assert variables["OMNI_MONGO_URL"]["valueFrom"] == {
            "secretKeyRef": {"name": f"{FULLNAME}-mongodb-url", "key": service}}
    operator = env(rendered, "operator")
    assert not {"OMNI_NATS_URL", "OMNI_MONGO_URL", "OMNI_WORKER_MONGO_SECRET"} & set(operator)


def test_external_backends_take_a_url_per_service() -> None:
    values = {**EXTERNAL, "nats": {**EXTERNAL["nats"], "serviceUrls": {"tickets": "nats://tickets:pw@nats:4222"}},
              "mongodb": {**EXTERNAL["mongodb"], "serviceUrls": {"routing": "mongodb://routing:pw@db/?tls=true"}}}
    rendered = objects(values)
    assert secret_value(rendered, f"{FULLNAME}-nats-url", "tickets") == "nats://tickets:pw@nats:4222"
    assert secret_value(rendered, f"{FULLNAME}-nats-url", "routing") == EXTERNAL["nats"]["url"]
    assert secret_value(rendered, f"{FULLNAME}-mongodb-url", "routing") == "mongodb://routing:pw@db/?tls=true"
    assert secret_value(rendered, f"{FULLNAME}-mongodb-url", "tickets") == EXTERNAL["mongodb"]["url"]


def test_each_service_has_its_own_nats_and_mongodb_user() -> None:
    rendered = objects()
    nats_passwords, mongo_passwords = set(), set()
    for service in SERVICES:
        nats = re.fullmatch(rf"nats://{service}:(\w{{32,}})@{FULLNAME}-nats:4222",
                            secret_value(rendered, f"{FULLNAME}-nats-url", service))
        mongo = re.fullmatch(rf"mongodb://{service}:(\w{{32,}})@{FULLNAME}-mongodb:27017/\?.*authSource=admin.*",
                             secret_value(rendered, f"{FULLNAME}-mongodb-url", service))
        assert nats and mongo
        # The servers learn the same passwords from their own Secrets.
        assert secret_value(rendered, f"{FULLNAME}-nats-auth", service) == nats.group(1)
        assert secret_value(rendered, f"{FULLNAME}-mongodb-auth", service) == mongo.group(1)
        nats_passwords.add(nats.group(1))
        mongo_passwords.add(mongo.group(1))
    assert len(nats_passwords) == len(mongo_passwords) == len(SERVICES)


def test_nats_runs_with_the_users_and_their_permissions() -> None:
    rendered = objects()
    nats = container(rendered, "nats")
    assert nats["args"][:2] == ["-c", "/etc/nats/nats.conf"]
    conf = by_kind(rendered, "ConfigMap")[f"{FULLNAME}-nats-config"]["data"]["nats.conf"]
    for service in SERVICES:
        assert env(rendered, "nats")[f"NATS_{service.upper()}_PASSWORD"]["valueFrom"]["secretKeyRef"] == {
            "name": f"{FULLNAME}-nats-auth", "key": service}
        user = conf[conf.index(f"user: {service}"):]
        user = user[:user.index("subscribe")]
        assert f'"omnichannel.{service}.>"' in user
        # Publishing another domain's events is not allowed.
        assert not [s for s in SERVICES if s != service and f'"omnichannel.{s}.' in user]
    assert "no_auth_user" not in conf and "authorization" not in conf


def test_mongodb_runs_with_authentication_and_a_user_per_database() -> None:
    rendered = objects()
    mongo = container(rendered, "mongodb")
    assert "--keyFile /tmp/replica-set-key" in mongo["args"][0], "a key file turns authentication on"
    passwords = env(rendered, "mongodb")
    for user in (*SERVICES, "root"):
        assert passwords[f"MONGO_{user.upper()}_PASSWORD"]["valueFrom"]["secretKeyRef"] == {
            "name": f"{FULLNAME}-mongodb-auth", "key": user}
    script = by_kind(rendered, "ConfigMap")[f"{FULLNAME}-mongodb-init"]["data"]["init.js"]
    assert 'roles: [{role: "readWrite", db: "omnichannel_" + service}]' in script
    assert volumes(rendered, "mongodb")["auth"]["secret"]["items"] == [
        {"key": "replica-set-key", "path": "replica-set-key"}]
    assert by_kind(rendered, "Secret")[f"{FULLNAME}-mongodb-auth"]["metadata"]["annotations"] == {
        "helm.sh/resource-policy": "keep"}


TLS = {"grpcTls": {"enabled": True, "secretName": "omni-grpc-tls"},
       "smtpTls": {"secretName": "mx-tls", "requireStartTls": True}}


def test_grpc_tls_mounts_the_certificate_and_sets_the_settings() -> None:
    rendered = objects(TLS)
    for obj in rendered:
        kubernetes_validate.validate(obj, "1.33", strict=True)
    for service in SERVICES:
        variables = {name: e.get("value") for name, e in env(rendered, service).items()}
        assert variables["OMNI_GRPC_TLS_CERT_FILE"] == "/etc/omnichannel/grpc-tls/tls.crt"
        assert variables["OMNI_GRPC_TLS_KEY_FILE"] == "/etc/omnichannel/grpc-tls/tls.key"
        assert variables["OMNI_GRPC_TLS_CA_FILE"] == "/etc/omnichannel/grpc-tls/ca.crt"
        assert variables["OMNI_GRPC_HEALTH_LISTEN"] == "0.0.0.0:50052"
        assert volumes(rendered, service)["grpc-tls"]["secret"]["secretName"] == "omni-grpc-tls"
        mounted = {m["name"]: m["mountPath"] for m in container(rendered, service)["volumeMounts"]}
        assert mounted["grpc-tls"] == "/etc/omnichannel/grpc-tls"
        # The kubelet's probes cannot speak TLS: they ask the plaintext health port.
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            assert container(rendered, service)[probe]["grpc"] == {"port": 50052}
    # The operator (and through it the workers) gets the CA alone, never the server's key.
    assert volumes(rendered, "operator")["grpc-tls"]["secret"]["items"] == [{"key": "ca.crt", "path": "ca.crt"}]
    operator = {name: e.get("value") for name, e in env(rendered, "operator").items()}
    assert operator["OMNI_GRPC_TLS_CA_FILE"] == "/etc/omnichannel/grpc-tls/ca.crt"
    assert operator["OMNI_WORKER_TLS_SECRET"] == "omni-grpc-tls"


def test_smtp_tls_reaches_sessions_alone() -> None:
    rendered = objects(TLS)
    sessions = {name: e.get("value") for name, e in env(rendered, "sessions").items()}
    assert sessions["OMNI_SMTP_TLS_CERT_FILE"] == "/etc/omnichannel/smtp-tls/tls.crt"
    assert sessions["OMNI_SMTP_TLS_KEY_FILE"] == "/etc/omnichannel/smtp-tls/tls.key"
    assert sessions["OMNI_SMTP_REQUIRE_STARTTLS"] == "true"
    assert volumes(rendered, "sessions")["smtp-tls"]["secret"]["secretName"] == "mx-tls"
    for service in ("tickets", "knowledge", "routing"):
        assert "smtp-tls" not in volumes(rendered, service)


@pytest.mark.parametrize(("values", "complaint"), [
    ({"grpcTls": {"enabled": True}}, "/grpcTls"),
    ({"smtpTls": {"requireStartTls": True}}, "/smtpTls"),
    ({"operator": {"allowedImages": ["a:1,b:2"]}}, "/operator/allowedImages/0"),
    ({"mongodb": {"enabled": False, "url": "mongodb://db", "serviceUrls": {"billing": "mongodb://db"}}},
     "/mongodb/serviceUrls"),
    ({"nats": {"enabled": False, "url": "nats://n", "serviceUrls": {"tickets": "http://n"}}},
     "/nats/serviceUrls/tickets"),
])
def test_incomplete_security_values_are_refused(values: dict[str, Any], complaint: str) -> None:
    with pytest.raises(helm.HelmValuesError) as raised:
        objects(values)
    assert complaint in str(raised.value)


def test_allowed_images_reach_the_operator() -> None:
    rendered = objects({"operator": {"allowedImages": ["registry.example/omnichannel:*", "registry.example/bots/*"]}})
    assert env(rendered, "operator")["OMNI_OPERATOR_ALLOWED_IMAGES"]["value"] == \
        "registry.example/omnichannel:*,registry.example/bots/*"
    assert "OMNI_OPERATOR_ALLOWED_IMAGES" not in env(objects(), "operator"), "default: the worker image alone"
