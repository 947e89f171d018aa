"""Issue 13, item 15 (part): the operator verifies the Kubernetes API server's certificate unless a
setting (chart value) says otherwise. The API server here is kmock behind a TLS front whose
certificate a throw-away CA signed."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from agentpool_operator import deployments
from agentpool_operator.handlers import handle_startup
from agentpool_operator.settings import OperatorSettings
from tests.charts.conftest import by_kind, objects
from tests.operator.kubernetes import Cluster
from tests.security.certificates import ServerCertificate, issue


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    finally:
        writer.close()


@contextlib.asynccontextmanager
async def tls_front(cluster: Cluster, certificate: ServerCertificate) -> AsyncIterator[str]:
    """An https:// URL answering with `certificate` and passing everything on to the emulator."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certificate.cert_file, certificate.key_file)
    host, port = cluster.emulator.url.host, cluster.emulator.url.port

    async def relay(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, ssl.SSLError):
            upstream_reader, upstream_writer = await asyncio.open_connection(host, port)
            await asyncio.gather(_pipe(client_reader, upstream_writer), _pipe(upstream_reader, client_writer))

    server = await asyncio.start_server(relay, "127.0.0.1", 0, ssl=context)
    try:
        yield f"https://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    finally:
        server.close()


async def _reads_deployments(settings: OperatorSettings) -> Any:
    api = await deployments.connect(settings)
    return await deployments.find(api, "no-such-worker", "contact")


async def test_the_operator_trusts_the_api_server_only_with_its_ca_or_when_told_not_to_check(
        cluster: Cluster, tmp_path: Path) -> None:
    certificate = issue(tmp_path / "api-server")
    async with tls_front(cluster, certificate) as url:
        with pytest.raises(Exception, match="CERTIFICATE_VERIFY_FAILED"):
            await _reads_deployments(OperatorSettings(kubernetes_url=url))
        stranger = issue(tmp_path / "stranger", ca_name="someone else's CA")
        with pytest.raises(Exception, match="CERTIFICATE_VERIFY_FAILED"):
            await _reads_deployments(OperatorSettings(kubernetes_url=url, kubernetes_ca_file=str(stranger.ca_file)))
        # The API server's own CA: answered (the emulator has no such Deployment).
        assert await _reads_deployments(OperatorSettings(kubernetes_url=url,
                                                         kubernetes_ca_file=str(certificate.ca_file))) is None
        assert await _reads_deployments(OperatorSettings(kubernetes_url=url,
                                                         kubernetes_insecure_skip_tls_verify=True)) is None


def test_kopfs_login_verifies_the_server_unless_a_setting_says_not_to() -> None:
    url = "https://api.cluster.example:6443"
    checked = handle_startup.login(OperatorSettings(kubernetes_url=url, kubernetes_ca_file="/etc/ca.crt"))
    assert checked is not None and (checked.server, checked.insecure, checked.ca_path) == (url, False, "/etc/ca.crt")
    unchecked = handle_startup.login(OperatorSettings(kubernetes_url=url, kubernetes_insecure_skip_tls_verify=True))
    assert unchecked is not None and unchecked.insecure is True


def test_the_chart_turns_verification_off_only_when_a_value_asks() -> None:
    def operator_env(values: dict[str, Any]) -> dict[str, str]:
        operator = by_kind(objects(values), "Deployment")["omni-omnichannel-operator"]
        return {e["name"]: e.get("value", "") for e in operator["spec"]["template"]["spec"]["containers"][0]["env"]}

    assert "OMNI_KUBERNETES_INSECURE_SKIP_TLS_VERIFY" not in operator_env({})
    assert "OMNI_KUBERNETES_URL" not in operator_env({})  # in the cluster: the service account and its CA
    asked = operator_env({"operator": {"kubernetesApi": {"url": "https://api.example:6443",
                                                         "insecureSkipTlsVerify": True}}})
    assert asked["OMNI_KUBERNETES_URL"] == "https://api.example:6443"
    assert asked["OMNI_KUBERNETES_INSECURE_SKIP_TLS_VERIFY"] == "true"
    assert OperatorSettings.from_env({}).kubernetes_insecure_skip_tls_verify is False
