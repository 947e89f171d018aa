"""Which waiting work a free agent takes next: earliest rank first over the heads of the lines.

The engine's dispatch asks this when an agent gains capacity; the lines keep each part (channel
and language) in rank order, so only the head of each part the agent may take is looked at
until one is eligible, earliest head first.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Iterable, Mapping

from omni.routing.domain import policy
from omni.routing.domain.agents import Agent
from omni.routing.domain.lines import Key, Lines
from omni.routing.domain.queues import QueueConfig
from omni.routing.domain.roster import Roster
from omni.routing.domain.work import Work
from omni.runtime.channels import Channel


def next_work(agent: Agent, roster: Roster, lines: Lines, live: Mapping[str, Work], now: float) -> Work | None:
    """The work due first that `agent` may take now, or None (also while a call they could take
    once their desk is empty is due before it)."""
    # The head of each part of each line (channel and language) the agent may take: the one
    # due first wins (a bilingual agent sees the callers of each language, not only the
    # head of the whole line). Heads are looked at earliest first, so the first eligible one
    # usually ends the search.
    heads: list[tuple[Key, bool, Iterable[Key], QueueConfig]] = []
    # Per channel: room now, and whether a part of it is worth looking at; per language: spoken.
    # Asked once per decision rather than once per part.
    rooms: dict[Channel, tuple[bool, bool]] = {}
    speaks: dict[str, bool] = {}
    for queue_id in roster.queue_ids_of(agent):
        queue = roster.queue(queue_id)
        for (channel, language), waiting in lines.of(queue_id).parts():
            looked = rooms.get(channel)
            if looked is None:
                room = agent.can_take(channel)
                call = channel is Channel.PHONE and agent.capacity.get(channel, 0) > 0
                looked = rooms[channel] = (room, room or call)
            room, worth = looked
            if not worth:
                continue
            spoken = speaks.get(language)
            if spoken is None:
                spoken = speaks[language] = agent.speaks(language)
            if spoken:
                heads.append((waiting.head, room, waiting.keys, queue))
    heads.sort(key=operator.itemgetter(0))
    best: Work | None = None
    # Line keys (rank, arrival, id) compare as the lines order them.
    best_key: Key = (math.inf, 0, "")
    # A call the agent could take once their desk is empty, due before anything they could
    # take now: they take nothing else meanwhile, or calls would wait behind chats and emails.
    call_key: Key = (math.inf, 0, "")
    for head, room, keys, queue in heads:
        if head >= best_key:
            break  # every later head is due later still
        for key in keys:
            if key >= best_key or (not room and key >= call_key):
                break
            work = live[key[2]]
            preferred = roster.find_agent(work.preferred_agent_id) if work.preferred_agent_id else None
            # Room was checked above for the part's channel.
            if policy.ineligible(agent, work, queue, now, preferred, capacity=False):
                continue
            if room:
                best, best_key = work, key
            else:
                call_key = key
            break
    return None if best is None or call_key < best_key else best
