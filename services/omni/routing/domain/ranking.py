"""Which waiting work a free agent takes next: earliest rank first over the heads of the lines.

The engine's dispatch asks this when an agent gains capacity; the lines keep each part (channel
and language) in rank order, so only the head of each part the agent may take is looked at
until one is eligible.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from omni.routing.domain import policy
from omni.routing.domain.agents import Agent
from omni.routing.domain.lines import Lines
from omni.routing.domain.roster import Roster
from omni.routing.domain.work import Work
from omni.runtime.channels import Channel


def next_work(agent: Agent, roster: Roster, lines: Lines, live: Mapping[str, Work], now: float) -> Work | None:
    """The work due first that `agent` may take now, or None (also while a call they could take
    once their desk is empty is due before it)."""
    # The head of each part of each line (channel and language) the agent may take: the one
    # due first wins (a bilingual agent sees the callers of each language, not only the
    # head of the whole line).
    best: Work | None = None
    best_rank: tuple[float, int] = (math.inf, 0)
    # A call the agent could take once their desk is empty, due before anything they could
    # take now: they take nothing else meanwhile, or calls would wait behind chats and emails.
    call_rank: tuple[float, int] = (math.inf, 0)
    for queue_id in roster.queue_ids_of(agent):
        queue = roster.queue(queue_id)
        for (channel, language), keys in lines.of(queue_id).parts():
            room = agent.can_take(channel)
            if not (room or (channel is Channel.PHONE and agent.capacity.get(channel, 0))) or (
                    not agent.speaks(language)):
                continue
            for key in keys:
                work = live[key[2]]
                rank = (work.rank, work.seq)
                if rank >= best_rank or (not room and rank >= call_rank):
                    break
                preferred = roster.find_agent(work.preferred_agent_id) if work.preferred_agent_id else None
                if policy.ineligible(agent, work, queue, now, preferred, capacity=room):
                    continue
                if room:
                    best, best_rank = work, rank
                else:
                    call_rank = rank
                break
    return None if best is None or call_rank < best_rank else best
