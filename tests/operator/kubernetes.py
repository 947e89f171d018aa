"""The Kubernetes side of operator tests: kmock's API emulator, a plain HTTP client, the Kopf runner."""

from __future__ import annotations

import asyncio
import copy
import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import kmock
import pytest
import yaml
from kopf.testing import KopfRunner

from omni.runtime.config import env_name
from tests.support.polling import eventually as eventually  # the operator tests poll with it

# Import the operator (and kr8s → httpx_ws → anyio's lazy modules) here, in the main thread at
# collection time. Otherwise KopfRunner's thread imports them while the test's thread also runs
# pytest's assertion rewriter (anyio is a pytest plugin, so its modules are rewritten), and
# CPython 3.11.7's AST constructor, whose recursion counter is shared per interpreter, fails with
# "SystemError: AST constructor recursion depth mismatch" (python/cpython#106905).
# The timer interval is fixed when that module is imported, so the fast poll tests need is set
# here, before the import, not per test.
os.environ.setdefault("OMNI_OPERATOR_POLL_SECONDS", "0.5")
import agentpool_operator.main  # noqa: F401

NAMESPACE = "contact"
VERBS = {"list", "watch", "get", "create", "patch", "update", "delete"}
POOLS = f"/apis/omnichannel.dev/v1alpha1/namespaces/{NAMESPACE}/agentpools"
DEPLOYMENTS = f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments"
EVENTS = f"/api/v1/namespaces/{NAMESPACE}/events"
EXAMPLE = Path(__file__).resolve().parents[2] / "charts" / "omnichannel" / "examples" / "agentpool.yaml"


def serve_resources(emulator: Any) -> None:
    """Declare what the operator watches and writes, as a real API server's discovery would."""
    emulator.resources["omnichannel.dev/v1alpha1/agentpools"] = kmock.ResourceInfo(
        kind="AgentPool", namespaced=True, verbs=VERBS, subresources={"status"})
    emulator.resources["apps/v1/deployments"] = kmock.ResourceInfo(
        kind="Deployment", namespaced=True, verbs=VERBS, subresources={"scale", "status"})
    emulator.resources["v1/events"] = kmock.ResourceInfo(kind="Event", namespaced=True, verbs=VERBS)
    emulator.resources["v1/namespaces"] = kmock.ResourceInfo(kind="Namespace", namespaced=False, verbs=VERBS)
    # kube-apiserver answers /version/ as well as /version; kr8s asks the former at connect time.
    emulator["get /version/"] << {"major": "1", "minor": "33", "gitVersion": "v1.33.0"}


class Cluster:
    def __init__(self, emulator: Any, operator_client: dict[str, str]) -> None:
        self.emulator = emulator
        self.url = str(emulator.url).rstrip("/")
        # How the operator running against this cluster gets its tokens for routing (settings).
        self.operator_client = operator_client

    async def request(self, method: str, path: str, body: Any = None) -> Any:
        async with aiohttp.ClientSession() as http, http.request(method, self.url + path, json=body) as response:
            if response.status == 404:
                return None
            response.raise_for_status()
            return await response.json()

    async def get(self, path: str) -> Any:
        return await self.request("GET", path)

    async def events(self, reason: str) -> list[dict[str, Any]]:
        """Events the operator posted. Read from the requests, not the store: Kopf names events by
        `generateName`, which a real API server expands and the emulator does not (it keeps one)."""
        return [r.data for r in self.emulator
                if r.method == "POST" and r.url.path == EVENTS and (r.data or {}).get("reason") == reason]


@pytest.fixture
def cluster(kmock: Any, client_settings: Callable[[str], dict[str, str]]) -> Cluster:
    serve_resources(kmock)
    return Cluster(kmock, client_settings("agentpool-operator"))


def operator_env(monkeypatch: pytest.MonkeyPatch, cluster: Cluster, routing_addr: str) -> None:
    for name, value in cluster.operator_client.items():
        monkeypatch.setenv(env_name(name), value)
    monkeypatch.setenv("OMNI_KUBERNETES_URL", cluster.url)
    monkeypatch.setenv("OMNI_ROUTING_ADDR", routing_addr)
    monkeypatch.setenv("OMNI_STATS_TIMEOUT_SECONDS", "2")
    monkeypatch.setenv("OMNI_WORKER_IMAGE", "registry.example/omnichannel:test")


def pool(name: str, **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = copy.deepcopy(yaml.safe_load(EXAMPLE.read_text()))
    # A real API server assigns these; the emulator stores what it is given. Owner references
    # point at the uid, and Kopf's patches test the resourceVersion.
    body["metadata"].update(name=name, namespace=NAMESPACE, uid=str(uuid.uuid4()), resourceVersion="1")
    body["spec"].update(spec)
    return body


class Operator:
    """The real operator (`kopf run`) in a thread, stopped without blocking the emulator's loop."""

    def __init__(self, *scope: str) -> None:
        """`scope`: kopf's namespace arguments, e.g. "--namespace=contact" as the chart passes by default."""
        self.runner = KopfRunner(["run", *(scope or ("-A",)), "--standalone", "-m", "agentpool_operator.main"],
                                 timeout=30)

    async def __aenter__(self) -> KopfRunner:
        self.runner.__enter__()
        return self.runner

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.to_thread(self.runner.__exit__, None, None, None)
