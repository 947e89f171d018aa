"""Agents as routing sees them: skills, languages, per-channel capacity and presence."""

from __future__ import annotations

import dataclasses
import enum
import functools

from omni.runtime.channels import Channel
from omni.runtime.errors import InvalidArgument


class AgentStatus(enum.StrEnum):
    OFFLINE = "offline"
    AVAILABLE = "available"
    BUSY = "busy"
    WRAP_UP = "wrap_up"
    BREAK = "break"


# Used when an agent is created without capacities: one call, or three chats, or five emails, or
# three SMS conversations (worked like chats).
DEFAULT_CAPACITY: dict[Channel, int] = {Channel.PHONE: 1, Channel.CHAT: 3, Channel.EMAIL: 5, Channel.SMS: 3}
# Ready agents take new work; BUSY is AVAILABLE while holding assigned work.
READY = frozenset({AgentStatus.AVAILABLE, AgentStatus.BUSY})


# Routing asks for every candidate agent and every line move; the tags in use are few.
@functools.lru_cache(maxsize=4096)
def primary_language(tag: str) -> str:
    """"en-US" and "en" are the same language for routing."""
    return tag.strip().lower().replace("_", "-").split("-", 1)[0]


@functools.lru_cache(maxsize=4096)
def primary_languages(tags: tuple[str, ...]) -> frozenset[str]:
    """The primary languages of an agent's tags; agents share a few combinations."""
    return frozenset(map(primary_language, tags))


@dataclasses.dataclass
class Agent:
    id: str
    display_name: str = ""
    groups: tuple[str, ...] = ()
    # Skill name -> proficiency 1..5.
    skills: dict[str, int] = dataclasses.field(default_factory=dict)
    languages: tuple[str, ...] = ()
    capacity: dict[Channel, int] = dataclasses.field(default_factory=lambda: dict(DEFAULT_CAPACITY))
    supervisor: bool = False
    status: AgentStatus = AgentStatus.OFFLINE
    status_reason: str = ""
    status_time: float = 0.0
    # Work held (offered or assigned) -> its channel; offered ones are also in `offered`.
    holding: dict[str, Channel] = dataclasses.field(default_factory=dict)
    offered: set[str] = dataclasses.field(default_factory=set)
    # Offers rejected or not answered since the agent last accepted one (RONA).
    missed_offers: int = 0
    # When the agent last became free of all work: "longest idle" goes first.
    idle_since: float = 0.0
    version: int = 1  # 0 in an update means "unchecked", so the first version is 1

    def snapshot(self) -> Agent:
        """A copy that later changes to this agent do not reach (for notices and desktops)."""
        snapshot = object.__new__(type(self))
        fields = snapshot.__dict__
        fields.update(self.__dict__)
        fields["holding"], fields["offered"] = dict(self.holding), set(self.offered)
        return snapshot

    @property
    def ready(self) -> bool:
        return self.status in READY

    @property
    def logged_in(self) -> bool:
        return self.status is not AgentStatus.OFFLINE

    def active(self, channel: Channel) -> int:
        return sum(1 for held in self.holding.values() if held is channel)

    def can_take(self, channel: Channel) -> bool:
        """Free capacity on `channel`; a call needs the agent's full attention, both ways."""
        if not self.ready or self.capacity.get(channel, 0) <= 0:
            return False
        if channel is Channel.PHONE:
            return not self.holding
        if Channel.PHONE in self.holding.values():
            return False
        return self.active(channel) < self.capacity[channel]

    def has_room(self) -> bool:
        """Free capacity on some channel (`can_take` says yes to one)."""
        if not self.holding:
            # Asked after every change: an agent with nothing in hand has room wherever they have
            # capacity, which is what `can_take` says then.
            return self.ready and any(n > 0 for n in self.capacity.values())
        if Channel.PHONE in self.holding.values():
            return False  # a call takes the whole agent
        return any(self.can_take(channel) for channel in self.capacity)

    def load(self) -> float:
        """Occupancy of the busiest channel, 0..1 (a call fills the agent)."""
        held = self.holding.values()
        if Channel.PHONE in held:
            return 1.0
        if not held:
            # Every routing decision asks; nothing in hand is no load wherever there is capacity.
            return 0.0 if any(n > 0 for n in self.capacity.values()) else 1.0
        return max((self.active(c) / n for c, n in self.capacity.items() if n > 0), default=1.0)

    def speaks(self, language: str) -> bool:
        if not language or not self.languages:
            return True
        return primary_language(language) in primary_languages(self.languages)

    def has_skills(self, required: tuple[str, ...]) -> bool:
        return self.level(required) >= 1

    def level(self, required: tuple[str, ...]) -> int:
        """The lowest proficiency among `required` (5 when nothing is required)."""
        if not required:
            return 5
        skills = self.skills
        if len(required) == 1:  # the usual case, asked for every candidate: no generator
            return skills.get(required[0], 0)
        return min(skills.get(skill, 0) for skill in required)

    def proficiency(self, required: tuple[str, ...]) -> int:
        return sum(self.skills.get(skill, 0) for skill in required)

    def set_status(self, status: AgentStatus, reason: str, now: float) -> None:
        """The agent (or a supervisor) sets their presence; BUSY is routing's to set."""
        if status is AgentStatus.BUSY:
            raise InvalidArgument("busy is set by routing while an agent holds work; choose available, "
                                  "wrap_up, break or offline")
        if status is AgentStatus.AVAILABLE and self.ready:
            self.status_reason = reason
        else:
            self.status, self.status_reason, self.status_time = status, reason, now
        if status is AgentStatus.AVAILABLE:
            self.missed_offers = 0
            if not self.holding:
                self.idle_since = now
            self.settle_status(now)

    def offered_work(self, work_id: str, channel: Channel) -> None:
        """An offer holds a slot until it is answered."""
        self.holding[work_id] = channel
        self.offered.add(work_id)

    def accepted(self, work_id: str, now: float) -> None:
        self.offered.discard(work_id)
        self.missed_offers = 0
        self.settle_status(now)

    def released(self, work_id: str, now: float) -> None:
        """The offer or the work is gone (wrapped up, withdrawn, transferred, abandoned)."""
        self.holding.pop(work_id, None)
        self.offered.discard(work_id)
        if not self.holding:
            self.idle_since = now
        self.settle_status(now)

    def settle_status(self, now: float) -> None:
        """BUSY while holding assigned work, AVAILABLE when not, for an agent who is ready."""
        if not self.ready:
            return
        assigned = len(self.holding) > len(self.offered)
        wanted = AgentStatus.BUSY if assigned else AgentStatus.AVAILABLE
        if wanted is not self.status:
            self.status = wanted
            self.status_time = now
        if not self.holding:
            self.idle_since = self.idle_since if self.idle_since else now
