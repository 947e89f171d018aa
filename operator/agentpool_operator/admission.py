"""What an AgentPool may make the operator do (pure): the checks that keep it from being a confused deputy.

Whoever may create an AgentPool in a namespace would otherwise borrow the operator's rights: its
Deployment patches (any Deployment named in the spec), its images (any image, run with the bot
workers' client secret) and its environment (the platform's settings, which steer where the workers send
their bearer tokens). So the operator touches only Deployments the pool owns, runs only images its
own settings allow, and lets a pool set only its bot's tuning, never the platform's settings.
"""

from __future__ import annotations

import enum
import fnmatch
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from agentpool_operator.pool import AgentPool
from agentpool_operator.settings import OperatorSettings
from omni.runtime.config import PREFIX, env_name


class Reason(enum.StrEnum):
    IMAGE_NOT_ALLOWED = "ImageNotAllowed"
    ENV_NOT_ALLOWED = "EnvNotAllowed"
    DEPLOYMENT_NOT_OWNED = "DeploymentNotOwned"


class Refused(Exception):
    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.reason = reason


# The worker settings that tune its bot (docs/kubernetes.md, the worker's table). Every other
# OMNI_* variable is the platform's: the token endpoint and client, where the services, backends and collector
# are, TLS, and what the operator derives from the spec itself (queues, skills, concurrency, id).
POOL_TUNABLE = frozenset(env_name(field) for field in (
    "worker_min_score", "worker_wait_seconds", "worker_followup_seconds", "worker_max_answers",
    "worker_conversation_seconds", "worker_drain_seconds", "log_level",
))
# Outside OMNI_*: variables that send the worker's traffic (and the bearer tokens it carries)
# elsewhere, change which certificates it trusts, or load other code into it.
_STEERING_PREFIXES = ("LD_", "PYTHON", "GRPC_", "OTEL_", "SSL_", "REQUESTS_CA", "CURL_CA")
_STEERING_SUFFIX = "_PROXY"


def check_image(image: str, patterns: Sequence[str]) -> None:
    """Shell-style patterns (`registry.example/omnichannel:*`); one without a wildcard is exact."""
    if not any(fnmatch.fnmatchcase(image, pattern) for pattern in patterns):
        raise Refused(Reason.IMAGE_NOT_ALLOWED,
                      f"image {image!r} is not allowed for workers (allowed: {', '.join(patterns)}); "
                      "the operator's OMNI_OPERATOR_ALLOWED_IMAGES decides")


def _platform_owned(name: str) -> bool:
    upper = name.upper()
    if upper.startswith(PREFIX):
        return name not in POOL_TUNABLE
    return upper.startswith(_STEERING_PREFIXES) or upper.endswith(_STEERING_SUFFIX)


def check_env(names: Iterable[str]) -> None:
    refused = sorted({name for name in names if _platform_owned(name)})
    if refused:
        raise Refused(Reason.ENV_NOT_ALLOWED,
                      f"worker.env may not set {', '.join(refused)}: the platform sets these; a pool may tune "
                      f"{', '.join(sorted(POOL_TUNABLE))} and its own non-OMNI_ variables")


def check_pool(pool: AgentPool, settings: OperatorSettings) -> None:
    # No patterns configured: the operator's own worker image alone.
    check_image(pool.image, settings.operator_allowed_images or (settings.worker_image,))
    check_env(name for name, _ in pool.env)


def check_owner(deployment: Mapping[str, Any], pool: AgentPool, pool_uid: str) -> None:
    """Only a Deployment this pool owns (by uid: a re-created pool of the same name is another
    owner) may be patched or scaled; any other one is someone else's, whatever its name."""
    references = (deployment.get("metadata") or {}).get("ownerReferences") or ()
    if not any(ref.get("uid") == pool_uid and ref.get("kind") == "AgentPool" for ref in references):
        raise Refused(Reason.DEPLOYMENT_NOT_OWNED,
                      f"Deployment {pool.namespace}/{pool.deployment_name} exists and is not owned by this "
                      "AgentPool: the operator leaves it alone; name another worker.deploymentName")
