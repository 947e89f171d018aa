"""Demo customers, created through the tickets API; safe to run on every start."""

from __future__ import annotations

import grpc

from omni.runtime.auth import bearer
from omnichannel.common.v1 import common_pb2
from omnichannel.tickets.v1 import tickets_pb2 as pb
from omnichannel.tickets.v1 import tickets_pb2_grpc

PHONE, EMAIL = common_pb2.IDENTITY_KIND_PHONE, common_pb2.IDENTITY_KIND_EMAIL

DEMO_CUSTOMERS = (
    pb.Customer(display_name="李伟 (Li Wei)", language="zh", tier="vip", tags=["high_value"],
                identities=[common_pb2.Identity(kind=PHONE, value="+86 138 0013 8000"),
                            common_pb2.Identity(kind=EMAIL, value="li.wei@example.cn")]),
    pb.Customer(display_name="Emma Clarke", language="en", tier="standard", tags=["accessibility:hearing"],
                identities=[common_pb2.Identity(kind=PHONE, value="+44 20 7946 0958"),
                            common_pb2.Identity(kind=EMAIL, value="emma.clarke@example.co.uk")]),
    pb.Customer(display_name="王芳 (Wang Fang)", language="zh", tier="standard",
                identities=[common_pb2.Identity(kind=PHONE, value="+86 139 1234 5678")]),
)


async def seed(address: str, token: str) -> None:
    async with grpc.aio.insecure_channel(address) as channel:
        stub = tickets_pb2_grpc.TicketServiceStub(channel)
        for customer in DEMO_CUSTOMERS:
            try:
                await stub.LookupCustomer(pb.LookupCustomerRequest(identity=customer.identities[0]),
                                          metadata=bearer(token))
                continue  # seeded on an earlier start
            except grpc.aio.AioRpcError as exc:
                if exc.code() != grpc.StatusCode.NOT_FOUND:
                    raise
            await stub.CreateCustomer(pb.CreateCustomerRequest(
                customer=customer, request_id=f"demo:{customer.identities[0].value}"), metadata=bearer(token))
