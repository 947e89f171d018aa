"""Issue 13, item 2: the operator's RBAC is namespaced unless a value asks otherwise, and grants
exactly the requests the real operator makes (recorded from kmock while it works)."""

from __future__ import annotations

from typing import Any

import kubernetes_validate
import pytest

from omni.devstack.processes import free_port
from tests.charts.conftest import by_kind, objects
from tests.operator.kubernetes import DEPLOYMENTS, POOLS, Cluster, Operator, eventually, operator_env, pool

OPERATOR = "omni-omnichannel-operator"
# Not a request the operator makes: the API server checks it at Deployment creation when the
# OwnerReferencesPermissionEnforcement admission plugin is on.
ADMISSION_ONLY = {("omnichannel.dev", "agentpools/finalizers", "update")}


def grants(role: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {(group, resource, verb) for rule in role["rules"] for group in rule["apiGroups"]
            for resource in rule["resources"] for verb in rule["verbs"]}


def operator_args(rendered: list[dict[str, Any]]) -> list[str]:
    container = by_kind(rendered, "Deployment")[OPERATOR]["spec"]["template"]["spec"]["containers"][0]
    return list(container["args"])


def test_by_default_the_operator_is_namespaced() -> None:
    rendered = objects()
    assert by_kind(rendered, "ClusterRole") == {} and by_kind(rendered, "ClusterRoleBinding") == {}
    binding = by_kind(rendered, "RoleBinding")[OPERATOR]
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": OPERATOR}
    assert operator_args(rendered) == ["--namespace=contact"]


def test_cluster_wide_only_when_asked() -> None:
    rendered = objects({"operator": {"clusterWide": True}})
    assert by_kind(rendered, "Role") == {} and by_kind(rendered, "RoleBinding") == {}
    role = by_kind(rendered, "ClusterRole")[OPERATOR]
    assert grants(role) == grants(by_kind(objects(), "Role")[OPERATOR])
    binding = by_kind(rendered, "ClusterRoleBinding")[OPERATOR]
    assert binding["roleRef"]["kind"] == "ClusterRole"
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": OPERATOR, "namespace": "contact"}]
    assert operator_args(rendered) == ["--all-namespaces"]
    for obj in rendered:
        kubernetes_validate.validate(obj, "1.33", strict=True)


def requested(cluster: Cluster) -> list[tuple[str | None, str, str, str]]:
    """(namespace, API group, resource[/subresource], verb) of each API request the operator made."""
    found = []
    for request in cluster.emulator:
        agent = request.headers.get("User-Agent", "")
        if not agent.startswith(("kopf/", "kr8s/")) or request.resource is None or not request.resource.plural:
            continue  # the test's own requests, and discovery (allowed to every authenticated user)
        resource = request.resource.plural + (f"/{request.subresource}" if request.subresource else "")
        verb = {"POST": "create", "PATCH": "patch", "PUT": "update", "DELETE": "delete"}.get(request.method.value)
        if verb is None:
            verb = "watch" if request.params.get("watch") == "true" else "get" if request.name else "list"
        found.append((request.namespace, request.resource.group or "", resource, verb))
    return found


@pytest.mark.slow
async def test_the_role_grants_exactly_what_the_running_operator_uses(
        cluster: Cluster, monkeypatch: pytest.MonkeyPatch) -> None:
    rendered = objects()
    granted = grants(by_kind(rendered, "Role")[OPERATOR])
    operator_env(monkeypatch, cluster, f"127.0.0.1:{free_port()}")
    async with Operator(*operator_args(rendered)):
        await cluster.request("POST", POOLS, pool("billing-bots", minReplicas=1, maxReplicas=6))
        await eventually(lambda: cluster.get(f"{DEPLOYMENTS}/billing-bots-worker"), what="worker Deployment")
        # A spec change rolls out a template and raises the floor: the patches of both handlers.
        await cluster.request("PATCH", f"{POOLS}/billing-bots",
                              {"spec": {"minReplicas": 2, "worker": {"env": [
                                  {"name": "OMNI_WORKER_MAX_ANSWERS", "value": "4"}]}}})

        async def scaled_and_rolled_out() -> bool:
            deployment = await cluster.get(f"{DEPLOYMENTS}/billing-bots-worker")
            env = {e["name"] for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
            return deployment["spec"]["replicas"] == 2 and "OMNI_WORKER_MAX_ANSWERS" in env

        await eventually(scaled_and_rolled_out, what="the new floor and template on the Deployment")
        await eventually(lambda: cluster.events("NoStatistics"), what="an event posted")
    requests = requested(cluster)
    assert {namespace for namespace, *_ in requests} == {"contact"}, "a namespaced Role covers one namespace"
    used = {(group, resource, verb) for _, group, resource, verb in requests}
    assert used - granted == set(), "requests the Role would forbid"
    assert granted - used == ADMISSION_ONLY, "grants the operator never uses"
