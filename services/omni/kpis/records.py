"""What a simulation (or the live stack) leaves behind: one record per contact and per agent shift.

Both modes produce these; KPIs and reports are computed from them alone, so the fast mode, the
live tour and the stored session data all give the same report format.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

Outcome = Literal["answered", "abandoned", "overflowed", "unanswered"]


@dataclasses.dataclass(slots=True, kw_only=True)
class ContactRecord:
    contact_id: str
    customer_id: str
    # The customer's matter (ticket): follow-ups of an unresolved matter share it.
    matter_id: str
    channel: str
    queue: str
    intent: str
    language: str = ""
    vip: bool = False
    urgent: bool = False
    emotion: int = 0
    # POSIX seconds.
    arrived: float
    answered: float | None = None
    ended: float | None = None
    outcome: Outcome
    handle_seconds: float = 0.0
    agent_id: str = ""
    transfers: int = 0
    # What the customer was told at arrival (seconds), None when nothing was announced.
    estimated_wait: float | None = None
    # The customer took a callback instead of holding; `answered` is when we called back.
    callback: bool = False
    # Calls made for the callback, and whether one reached the customer (None: no result yet,
    # or stopped because the customer got in touch first).
    callback_attempts: int = 0
    callback_reached: bool | None = None
    # Those calls: (POSIX seconds the call started, whether it reached the customer).
    calls: list[tuple[float, bool]] = dataclasses.field(default_factory=list)
    # A later contact about the same matter (the first one did not resolve it).
    follow_up: bool = False
    # The matter was resolved by this contact (False: the customer had to come back).
    resolved: bool = False
    # The customer's survey answer after the contact: CSAT 1..5 (0: none), NPS 0..10 (None: none).
    csat: int = 0
    nps: int | None = None

    @property
    def wait(self) -> float | None:
        """Seconds from arrival until answered, or until the customer gave up."""
        if self.answered is not None:
            return self.answered - self.arrived
        if self.outcome == "abandoned" and self.ended is not None:
            return self.ended - self.arrived
        return None


@dataclasses.dataclass(slots=True, kw_only=True)
class AgentRecord:
    agent_id: str
    team: str
    # POSIX seconds of the shift start (the day it belongs to).
    shift_start: float
    logged_in_seconds: float
    # Load-weighted: a chat agent holding 1 of 2 chats for 60 s is busy 30 s.
    busy_seconds: float
    handled: int = 0


def save(path: Path, contacts: Sequence[ContactRecord], agents: Sequence[AgentRecord]) -> None:
    """One JSON object per line: `{"contact": {...}}` or `{"agent": {...}}`."""
    with path.open("w") as out:
        for contact in contacts:
            out.write(json.dumps({"contact": dataclasses.asdict(contact)}) + "\n")
        for agent in agents:
            out.write(json.dumps({"agent": dataclasses.asdict(agent)}) + "\n")


def load(path: Path) -> tuple[list[ContactRecord], list[AgentRecord]]:
    contacts: list[ContactRecord] = []
    agents: list[AgentRecord] = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row: dict[str, Any] = json.loads(line)
            if "contact" in row:
                contact = ContactRecord(**row["contact"])
                contact.calls = [(float(at), bool(reached)) for at, reached in contact.calls]
                contacts.append(contact)
            elif "agent" in row:
                agents.append(AgentRecord(**row["agent"]))
            else:
                raise ValueError("expected a 'contact' or 'agent' object")
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{path}:{number}: not a contact or agent record ({exc})") from exc
    return contacts, agents
