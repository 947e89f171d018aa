"""The agent desktop (AgentSession stream): what an agent sends and what they are told.

An offer is named by its work and attempt ("S-1#2"), so accepting an offer that was withdrawn
and made again (to this agent or another) is refused instead of taking the new one.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from omni.routing.domain.agents import Agent, AgentStatus
from omni.routing.domain.work import Work


def offer_id(work: Work) -> str:
    return f"{work.id}#{work.offer_attempts}"


def offered_work_id(offer: str) -> tuple[str, str]:
    """The work id and the attempt an offer id names."""
    work_id, _, attempt = offer.rpartition("#")
    return work_id, attempt


# ----- commands (agent → routing); `kind` is the command's name on the stream ----------

@dataclasses.dataclass(frozen=True)
class SetState:
    kind: ClassVar[str] = "set_state"
    status: AgentStatus
    reason: str = ""


@dataclasses.dataclass(frozen=True)
class Accept:
    kind: ClassVar[str] = "accept"
    offer_id: str


@dataclasses.dataclass(frozen=True)
class Reject:
    kind: ClassVar[str] = "reject"
    offer_id: str
    reason: str = ""


@dataclasses.dataclass(frozen=True)
class WrapUp:
    kind: ClassVar[str] = "wrap_up"
    work_id: str
    disposition: str = ""
    note: str = ""


@dataclasses.dataclass(frozen=True)
class Heartbeat:
    kind: ClassVar[str] = "heartbeat"


@dataclasses.dataclass(frozen=True)
class Login:
    """A second login on a stream that is logged in already."""

    kind: ClassVar[str] = "login"


@dataclasses.dataclass(frozen=True)
class Unreadable:
    """A command that could not be read (e.g. a required field missing); `problem` says why."""

    kind: ClassVar[str] = "command"
    problem: str


@dataclasses.dataclass(frozen=True)
class Empty:
    """A command message with no command in it: nothing to do."""

    kind: ClassVar[str] = "command"


Command = SetState | Accept | Reject | WrapUp | Heartbeat | Login | Unreadable | Empty


# ----- events (routing → agent) -------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class AgentShown:
    """The agent's own profile and presence, as of the event."""

    agent: Agent


@dataclasses.dataclass(frozen=True)
class Offered:
    work: Work
    # As the customer-context adapter built it (customer, open tickets, suggestions); routing
    # passes it to the desktop unread.
    screen_pop: object


@dataclasses.dataclass(frozen=True)
class OfferRevoked:
    offer_id: str


@dataclasses.dataclass(frozen=True)
class Assigned:
    work: Work


@dataclasses.dataclass(frozen=True)
class Refused:
    """A command was not applied (or the desktop was replaced); the stream stays open."""

    message: str


DesktopEvent = AgentShown | Offered | OfferRevoked | Assigned | Refused
