"""The supervisor's calls: the floor and its alerts (supervision's WatchFloor and WatchAlerts,
relayed on one socket), acknowledging an alert, and stepping into a conversation: whisper to the
agent (a whisper note), a call leg for the PBX (monitor, whisper, barge), take the work over
(a note on the session, so the agent reads who took it, then routing's transfer to the supervisor
with reason `supervisor_takeover`). Barging into a chat is a reply, the desk's own call.

Every call carries the supervisor's own token: supervision, sessions and routing decide who may
see and do what (an agent's token is refused by each of them).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from omni.runtime.auth import bearer
from omni.web.convert import to_json
from omni.web.domain.inputs import Json
from omni.web.domain.work_notes import takeover_note, takeover_request_id
from omni.web.upstream import Upstream, relay, relay_stream
from omni.web.usecases.callers import Caller
from omni.web.usecases.desk import Desk
from omnichannel.routing.v1 import routing_pb2
from omnichannel.sessions.v1 import sessions_pb2
from omnichannel.supervision.v1 import supervision_pb2

Send = Callable[[Json], Awaitable[None]]
CALL_LEG_MODES = ("monitor", "whisper", "barge")
ALERTS_PAGE = 100


class Supervision:
    def __init__(self, upstream: Upstream, desk: Desk) -> None:
        self._up = upstream
        self._desk = desk
        self._timeout = upstream.timeout

    async def alerts(self, caller: Caller, open_only: bool) -> list[Json]:
        found = await relay(self._up.supervision.ListAlerts(
            supervision_pb2.ListAlertsRequest(open_only=open_only, page_size=ALERTS_PAGE),
            metadata=bearer(caller.token), timeout=self._timeout))
        return [to_json(alert) for alert in found.alerts]

    async def acknowledge(self, caller: Caller, alert_id: str) -> Json:
        return to_json(await relay(self._up.supervision.AcknowledgeAlert(
            supervision_pb2.AcknowledgeAlertRequest(id=alert_id), metadata=bearer(caller.token),
            timeout=self._timeout)))

    async def whisper(self, caller: Caller, session_id: str, text: str, request_id: str) -> Json:
        return to_json(await relay(self._up.sessions.AddSessionNote(
            sessions_pb2.AddSessionNoteRequest(session_id=session_id, text=text, request_id=request_id, whisper=True),
            metadata=bearer(caller.token), timeout=self._timeout)))

    async def call_leg(self, caller: Caller, session_id: str, mode: str, request_id: str) -> Json:
        return to_json(await relay(self._up.telephony.SuperviseCall(
            sessions_pb2.SuperviseCallRequest(session_id=session_id, request_id=request_id,
                                              mode=sessions_pb2.CallLegMode.Value(f"CALL_LEG_MODE_{mode.upper()}")),
            metadata=bearer(caller.token), timeout=self._timeout)))

    async def take_over(self, caller: Caller, work_id: str) -> Json:
        """The agent is told first, with a note on the conversation they are watching (once the
        work moves, a session outside their groups' queues leaves their sight); then routing moves
        the work to the supervisor, who is offered it at their desk."""
        me = caller.staff.subject
        work = await relay(self._up.routing.GetWorkItem(routing_pb2.GetWorkItemRequest(id=work_id),
                                                        metadata=bearer(caller.token), timeout=self._timeout))
        await self._desk.note(caller, work.session_id or work.id, takeover_note(me),
                              takeover_request_id(work.id, work.transfer_count))
        return to_json(await relay(self._up.routing.TransferWork(routing_pb2.TransferWorkRequest(
            work_id=work.id, reason=takeover_note(me), target_agent_id=me,
            reason_code=routing_pb2.TRANSFER_REASON_SUPERVISOR_TAKEOVER),
            metadata=bearer(caller.token), timeout=self._timeout)))

    async def watch_floor(self, caller: Caller, send: Send) -> None:
        """`{"floor": Floor}` whenever it changes and `{"alert": AlertUpdate}` for each alert
        raised or acknowledged (the open ones first), until either stream ends."""
        floor = self._up.supervision.WatchFloor(supervision_pb2.WatchFloorRequest(), metadata=bearer(caller.token))
        alerts = self._up.supervision.WatchAlerts(supervision_pb2.WatchAlertsRequest(), metadata=bearer(caller.token))

        async def floors() -> None:
            async for update in relay_stream(floor):
                await send({"floor": to_json(update)})

        async def changes() -> None:
            async for update in relay_stream(alerts):
                await send({"alert": to_json(update)})

        tasks = [asyncio.ensure_future(floors()), asyncio.ensure_future(changes())]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()  # a refusal (PERMISSION_DENIED for an agent) ends the socket with it
        finally:
            for task in tasks:
                task.cancel()
            floor.cancel()
            alerts.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
