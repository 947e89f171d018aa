from __future__ import annotations

import dataclasses

from omni.runtime.config import ServiceSettings


@dataclasses.dataclass(frozen=True, kw_only=True)
class WorkerSettings(ServiceSettings):
    routing_addr: str = "127.0.0.1:50054"
    knowledge_addr: str = "127.0.0.1:50053"
    sessions_addr: str = "127.0.0.1:50052"
    # Set by the operator: the pool's queues, skills, handoff queue and sessions per replica.
    worker_queues: tuple[str, ...] = ()
    worker_skills: tuple[str, ...] = ()
    worker_handoff_queue: str = ""
    worker_concurrency: int = 10
    # The pod name in the cluster; names this worker to routing.
    worker_id: str = "bot-worker"
    # Lowest knowledge-base score the bot answers with; below it a human takes over.
    worker_min_score: float = 1.0
    # Long-poll of TakeBotWork.
    worker_wait_seconds: float = 10.0
