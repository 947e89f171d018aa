"""A supervisor's leg on a call: listen in (monitor), whisper to the agent, or barge in. Sessions
does not carry audio; it records the request on the session (a note of kind CALL_LEG, so the
record says who listened in when) and hands the PBX adapter a command (`call_leg_requested`)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum

from omni.runtime.channels import Channel
from omni.runtime.errors import FailedPrecondition
from omni.sessions.domain.model import Note, NoteKind, Session, State, new_id


class CallLegMode(enum.StrEnum):
    MONITOR = "monitor"
    WHISPER = "whisper"
    BARGE = "barge"


_SAYS = {CallLegMode.MONITOR: "listens in on", CallLegMode.WHISPER: "whispers to the agent on",
         CallLegMode.BARGE: "barges in on"}


@dataclasses.dataclass(frozen=True)
class CallLegCommand:
    id: str
    session_id: str
    call_id: str
    mode: CallLegMode
    supervisor_id: str
    agent_id: str
    create_time: dt.datetime


def leg_note(session: Session, mode: CallLegMode, supervisor_id: str, request_id: str, now: dt.datetime) -> Note:
    """The note that records the request; the call must be connected to an agent."""
    if session.channel is not Channel.PHONE or not session.attributes.get("call_id"):
        raise FailedPrecondition(f"session {session.id} is not a call; whisper with a note and barge in with a reply")
    if session.state is not State.CONNECTED:
        raise FailedPrecondition(f"call of session {session.id} is {session.state.value}; a supervisor joins a "
                                 "connected call")
    return Note(id=new_id("N"), kind=NoteKind.CALL_LEG, author_id=supervisor_id,
                text=f"{supervisor_id} {_SAYS[mode]} the call ({mode.value})", create_time=now, request_id=request_id)


def command_of(session: Session, note: Note, mode: CallLegMode) -> CallLegCommand:
    """The command of a recorded note (a retry finds the first note, so the same command id)."""
    return CallLegCommand(id=f"{session.id}:leg:{note.id}", session_id=session.id,
                          call_id=session.attributes.get("call_id", ""), mode=mode, supervisor_id=note.author_id,
                          agent_id=session.agent_id, create_time=note.create_time)
