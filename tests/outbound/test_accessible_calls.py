"""Accessibility on the IVR side with the real tickets, sessions and routing: a caller whose
customer tags name a need skips the menus to a person, and routing queues the call with it."""

from __future__ import annotations

import grpc

from omni.runtime.auth import Role
from omnichannel.common.v1 import common_pb2
from omnichannel.routing.v1 import routing_pb2
from omnichannel.sessions.v1 import sessions_pb2 as pb
from omnichannel.tickets.v1 import tickets_pb2
from tests.outbound.conftest import CallbackStack
from tests.support.polling import eventually


async def test_a_caller_tagged_for_hearing_skips_the_menus_and_routing_knows_the_need(stack: CallbackStack) -> None:
    admin = stack.token(Role.ADMIN, "seed")
    await stack.routing.CreateQueue(routing_pb2.CreateQueueRequest(queue=routing_pb2.Queue(
        id="general", display_name="General", groups=["billing"])), metadata=admin)
    await stack.tickets.CreateCustomer(tickets_pb2.CreateCustomerRequest(customer=tickets_pb2.Customer(
        display_name="Li Na", tags=["accessibility:hearing"],
        identities=[common_pb2.Identity(kind=common_pb2.IDENTITY_KIND_PHONE, value="+8613000130011")])),
        metadata=admin)

    started = await stack.telephony.StartCall(pb.StartCallRequest(call_id="call-hearing", ani="+8613000130011"),
                                              metadata=stack.pbx)
    assert started.prompt == "" and started.prompt_style == pb.PROMPT_STYLE_SLOW_PLAIN
    assert (started.session.state, started.session.queue) == (pb.SESSION_STATE_QUEUED, "general")
    supervisor = stack.token(Role.SUPERVISOR, "S-1")

    async def work() -> routing_pb2.WorkItem | None:
        try:
            return await stack.routing.GetWorkItem(routing_pb2.GetWorkItemRequest(id=started.session.id),
                                                   metadata=supervisor)
        except grpc.aio.AioRpcError as exc:  # not queued yet: sessions' event is on its way
            if exc.code() != grpc.StatusCode.NOT_FOUND:
                raise
            return None

    queued = await eventually(work, lambda w: w is not None, what="the call queued in routing")
    assert queued is not None and list(queued.accessibility) == ["hearing"]
    assert ("accessibility_need", "hearing") in [(r.code, r.detail) for r in queued.reasons]

    # A caller tickets does not know hears the menus as before.
    other = await stack.telephony.StartCall(pb.StartCallRequest(call_id="call-other", ani="+8613000130012"),
                                            metadata=stack.pbx)
    assert other.session.state == pb.SESSION_STATE_IVR and other.prompt
    assert other.prompt_style == pb.PROMPT_STYLE_STANDARD
