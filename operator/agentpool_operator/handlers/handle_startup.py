from __future__ import annotations

from typing import Any

import kopf

from agentpool_operator import deployments
from agentpool_operator.handlers.context import OperatorContext, from_memo
from agentpool_operator.queue_stats import QueueStatsReader
from agentpool_operator.settings import OperatorSettings
from omni.runtime.auth import Role, TokenAuthority
from omni.runtime.clients import channel


async def start(settings: OperatorSettings, memo: Any, kopf_settings: kopf.OperatorSettings) -> None:
    kopf_settings.posting.level = 20  # INFO: scaling events are posted to the AgentPool
    # Annotations, not status, for Kopf's own bookkeeping: the status is ours (and a subresource).
    kopf_settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix="omnichannel.dev")
    kopf_settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(prefix="omnichannel.dev")
    # No watching of CRDs or namespaces: the chart installs the CRD before the operator, and the
    # namespaces are named on the command line, so the operator needs no cluster-wide read rights
    # (a CRD installed later is picked up at the next restart).
    kopf_settings.scanning.disabled = True
    authority = TokenAuthority(settings.jwt_secret)
    routing = channel(settings.routing_addr,
                      lambda: authority.mint("agentpool-operator", Role.SERVICE, ttl_seconds=300),
                      tls_ca_file=settings.grpc_tls_ca_file)
    memo["context"] = OperatorContext(settings=settings, api=await deployments.connect(settings.kubernetes_url),
                                      channel=routing, stats=QueueStatsReader(routing, settings.stats_timeout_seconds))


async def stop(memo: Any) -> None:
    if "context" in memo:
        await from_memo(memo).channel.close()


def login(config: OperatorSettings, **kwargs: Any) -> kopf.ConnectionInfo | None:
    """The configured API URL (tests, out-of-cluster), else the service account or kubeconfig."""
    if config.kubernetes_url:
        return kopf.ConnectionInfo(server=config.kubernetes_url, insecure=True)
    return kopf.login_with_service_account(**kwargs) or kopf.login_with_kubeconfig(**kwargs)
