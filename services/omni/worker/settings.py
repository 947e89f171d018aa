from __future__ import annotations

import dataclasses

from omni.runtime.config import ConfigError, ServiceSettings, env_name

# The bot-worker pod's terminationGracePeriodSeconds (set by the operator) less time to hand over.
MAX_DRAIN_SECONDS = 50.0


@dataclasses.dataclass(frozen=True, kw_only=True)
class WorkerSettings(ServiceSettings):
    routing_addr: str = "127.0.0.1:50054"
    knowledge_addr: str = "127.0.0.1:50053"
    sessions_addr: str = "127.0.0.1:50052"
    # Set by the operator: the pool's queues, skills, handoff queue and sessions per replica.
    worker_queues: tuple[str, ...] = ()
    # The intents the pool's bot answers (AgentPool spec.skills); empty: any overflowed work.
    worker_skills: tuple[str, ...] = ()
    worker_handoff_queue: str = ""
    worker_concurrency: int = 10
    # The pod name in the cluster; names this worker to routing.
    worker_id: str = "bot-worker"
    # Lowest knowledge-base score the bot answers with; below it a human takes over.
    worker_min_score: float = 1.0
    # Long-poll of TakeBotWork.
    worker_wait_seconds: float = 10.0
    # Chat: how long the bot waits for the customer's reply to an answer; silence means resolved.
    worker_followup_seconds: float = 90.0
    # Chat: answers the bot gives in one conversation; a further question goes to a person.
    worker_max_answers: int = 3
    # Chat: longest the bot keeps one conversation (routing's claim is renewed meanwhile); a chat
    # still going then goes to a person.
    worker_conversation_seconds: float = 600.0
    # After SIGTERM (a scale-down) the conversations in hand may go on this long before the chats
    # still waiting for the customer are handed to a person; below the pod's termination grace
    # (60 s), so the hand-over happens before Kubernetes kills the worker.
    worker_drain_seconds: float = 45.0

    def __post_init__(self) -> None:
        if not 0 < self.worker_followup_seconds < self.worker_conversation_seconds:
            raise ConfigError(
                f"{env_name('worker_followup_seconds')}={self.worker_followup_seconds:g} must be above 0 and below "
                f"{env_name('worker_conversation_seconds')}={self.worker_conversation_seconds:g}: the bot waits for "
                "a reply within one conversation")
        if not 0 <= self.worker_drain_seconds <= MAX_DRAIN_SECONDS:
            raise ConfigError(f"{env_name('worker_drain_seconds')}={self.worker_drain_seconds:g} must be between 0 "
                              f"and {MAX_DRAIN_SECONDS:g}: the pod's termination grace ends the worker then")
        if self.worker_max_answers < 1:
            raise ConfigError(f"{env_name('worker_max_answers')}={self.worker_max_answers} must be at least 1")
