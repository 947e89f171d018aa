from __future__ import annotations

from typing import Any

import kopf

from agentpool_operator import deployments
from agentpool_operator.handlers.context import OperatorContext, from_memo
from agentpool_operator.queue_stats import QueueStatsReader
from agentpool_operator.settings import OperatorSettings
from omni.runtime.clients import channel
from omni.runtime.token_source import service_token


async def start(settings: OperatorSettings, memo: Any, kopf_settings: kopf.OperatorSettings) -> None:
    kopf_settings.posting.level = 20  # INFO: scaling events are posted to the AgentPool
    # Annotations, not status, for Kopf's own bookkeeping: the status is ours (and a subresource).
    kopf_settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix="omnichannel.dev")
    kopf_settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(prefix="omnichannel.dev")
    # No watching of CRDs or namespaces: the chart installs the CRD before the operator, and the
    # namespaces are named on the command line, so the operator needs no cluster-wide read rights
    # (a CRD installed later is picked up at the next restart).
    kopf_settings.scanning.disabled = True
    # The operator's own short-lived token for routing, from the token endpoint: no signing key here.
    routing = channel(settings.routing_addr, service_token(settings, "routing"), tls_ca_file=settings.grpc_tls_ca_file)
    memo["context"] = OperatorContext(settings=settings, api=await deployments.connect(settings),
                                      channel=routing, stats=QueueStatsReader(routing, settings.stats_timeout_seconds))


async def stop(memo: Any) -> None:
    if "context" in memo:
        await from_memo(memo).channel.close()


def login(config: OperatorSettings, **kwargs: Any) -> kopf.ConnectionInfo | None:
    """The configured API URL (tests, out-of-cluster), else the service account or kubeconfig.
    The API server's certificate is verified unless a setting says otherwise."""
    if config.kubernetes_url:
        return kopf.ConnectionInfo(server=config.kubernetes_url, ca_path=config.kubernetes_ca_file or None,
                                   insecure=config.kubernetes_insecure_skip_tls_verify)
    return kopf.login_with_service_account(**kwargs) or kopf.login_with_kubeconfig(**kwargs)
