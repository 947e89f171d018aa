"""SupervisionService over gRPC: convert the request, call one use case, convert the answer."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from omni.runtime.auth import current_principal
from omni.runtime.interceptors import Context
from omni.runtime.paging import PageRequest, PageTokens, page_size
from omni.runtime.validation import require
from omni.supervision import convert
from omni.supervision.domain.alerts import AlertFilter
from omni.supervision.usecases.alerts import Alerts
from omni.supervision.usecases.floor import FloorRoom
from omnichannel.supervision.v1 import supervision_pb2 as pb
from omnichannel.supervision.v1 import supervision_pb2_grpc


class SupervisionServicer(supervision_pb2_grpc.SupervisionServiceServicer):
    def __init__(self, alerts: Alerts, room: FloorRoom, page_tokens: PageTokens) -> None:
        self._alerts = alerts
        self._room = room
        self._tokens = page_tokens

    async def ListAlerts(self, request: pb.ListAlertsRequest, context: Context) -> pb.ListAlertsResponse:
        asked = [request.open_only, request.queue_id]
        after = self._tokens.read(request.page_token, listing="alerts", filters=asked)
        page = await self._alerts.list(current_principal(), AlertFilter(request.open_only, request.queue_id),
                                       PageRequest(page_size(request.page_size), after))
        return pb.ListAlertsResponse(alerts=[convert.alert_to_proto(a) for a in page.items],
                                     next_page_token=self._tokens.issue(page.next_after, listing="alerts",
                                                                        filters=asked))

    async def AcknowledgeAlert(self, request: pb.AcknowledgeAlertRequest, context: Context) -> pb.Alert:
        return convert.alert_to_proto(await self._alerts.acknowledge(current_principal(), require(request.id, "id")))

    async def WatchAlerts(self, request: pb.WatchAlertsRequest, context: Context) -> AsyncIterator[pb.AlertUpdate]:
        changes = self._alerts.watch(current_principal())
        async with contextlib.aclosing(changes):
            async for kind, alert in changes:
                yield pb.AlertUpdate(kind=kind, alert=convert.alert_to_proto(alert))

    async def WatchFloor(self, request: pb.WatchFloorRequest, context: Context) -> AsyncIterator[pb.Floor]:
        floors = self._room.watch(current_principal())
        async with contextlib.aclosing(floors):
            async for floor in floors:
                yield convert.floor_to_proto(floor)
