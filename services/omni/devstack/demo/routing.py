"""Demo queues and agents, created through the routing API.

Idempotent: fixed ids; what exists already is left as it is.
"""

from __future__ import annotations

import grpc
from google.protobuf.duration_pb2 import Duration

from omni.runtime.clients import channel
from omnichannel.common.v1 import common_pb2
from omnichannel.routing.v1 import routing_pb2 as pb
from omnichannel.routing.v1 import routing_pb2_grpc

OFFICE = pb.BusinessHours(time_zone="Asia/Shanghai")  # open around the clock in the demo

# (id, name, intents, groups, policy changes, simple intents that overflow to the bot, overflow threshold)
QUEUES: tuple[tuple[str, str, tuple[str, ...], tuple[str, ...], dict[str, object], tuple[str, ...], int], ...] = (
    ("general", "General / 综合咨询", ("account", "agent_request"), ("general",), {},
     ("opening_hours", "order_status"), 50),
    ("billing", "Billing & refunds / 账单与退款", ("billing", "refund"), ("billing",), {}, ("refund",), 50),
    ("complaints", "Complaints / 投诉", ("complaint", "safety"), ("complaints",),
     {"escalate_to_supervisor": True, "supervisor_wait": Duration(seconds=30)}, (), 50),
    ("tech_internet", "Tech support: internet / 宽带", ("technical",), ("tech",), {}, (), 50),
    ("tech_mobile", "Tech support: mobile / 手机", ("technical",), ("tech",), {}, (), 50),
    ("tech_tv", "Tech support: TV / 电视", ("technical",), ("tech",), {}, (), 50),
    ("sales", "Sales / 业务办理", ("sales",), ("general",), {}, (), 50),
    ("retention", "Retention / 挽留", ("cancellation",), ("billing",), {}, (), 50),
    # Web chat answers opening hours and parcel questions with the bot first (threshold 0).
    ("chat", "Web chat / 在线客服", (), ("general",), {}, ("opening_hours", "order_status"), 0),
    ("email", "Email / 邮件", (), ("general",), {}, (), 50),
)
ALL_CHANNELS = (common_pb2.CHANNEL_PHONE, common_pb2.CHANNEL_CHAT, common_pb2.CHANNEL_EMAIL, common_pb2.CHANNEL_SMS)
LIMITS = {common_pb2.CHANNEL_PHONE: 1, common_pb2.CHANNEL_CHAT: 3, common_pb2.CHANNEL_EMAIL: 5,
          common_pb2.CHANNEL_SMS: 3}


def _agent(agent_id: str, name: str, groups: tuple[str, ...], languages: tuple[str, ...],
           supervisor: bool = False) -> pb.Agent:
    return pb.Agent(
        id=agent_id, display_name=name, groups=groups, languages=languages, supervisor=supervisor,
        skills=[pb.Skill(name=g, proficiency=5 if supervisor else 3) for g in groups],
        capacities=[pb.ChannelCapacity(channel=c, max_concurrent=LIMITS[c]) for c in ALL_CHANNELS])


AGENTS = (
    _agent("A-1001", "Li Wei (demo agent)", ("general", "billing", "complaints"), ("zh", "en")),
    _agent("S-2001", "Zhang Min (supervisor)", ("general", "billing", "complaints", "tech"), ("zh", "en"),
           supervisor=True),
    _agent("A-1002", "Emma Brown (English only)", ("general", "billing", "tech"), ("en",)),
    _agent("A-1003", "王芳 (中文)", ("general", "complaints", "tech"), ("zh",)),
)


def queues() -> list[pb.Queue]:
    """The demo queues as routing's API takes them: what the stack creates and what the simulator
    loads (`omni.simulator.live_config`), one source."""
    return [pb.Queue(id=queue_id, display_name=name, intents=intents, groups=groups,
                     service_level_percent=80, service_level_seconds=20, hours=OFFICE,
                     policy=pb.RoutingPolicy(offer_timeout=Duration(seconds=30), **policy),  # type: ignore[arg-type]
                     callback_threshold=Duration(seconds=60), overflow_threshold=overflow, simple_intents=simple)
            for queue_id, name, intents, groups, policy, simple, overflow in QUEUES]


async def seed(address: str, token: str) -> None:
    async with channel(address, token) as chan:
        stub = routing_pb2_grpc.RoutingServiceStub(chan)
        for queue in queues():
            await _create(stub.CreateQueue(pb.CreateQueueRequest(queue=queue), timeout=10))
        for agent in AGENTS:
            await _create(stub.CreateAgent(pb.CreateAgentRequest(agent=agent), timeout=10))


async def _create(call: object) -> None:
    try:
        await call  # type: ignore[misc]
    except grpc.aio.AioRpcError as exc:
        if exc.code() != grpc.StatusCode.ALREADY_EXISTS:
            raise
