"""Every SupervisionService RPC has a role rule and needs a token."""

from __future__ import annotations

from omni.supervision.service import ACCESS
from omnichannel.supervision.v1 import supervision_pb2
from tests.rpc_access import assert_every_rpc_needs_a_token, assert_table_matches_protos
from tests.supervision.conftest import Floor


async def test_every_rpc_has_a_rule_and_needs_a_token(floor: Floor) -> None:
    assert_table_matches_protos(ACCESS, supervision_pb2.DESCRIPTOR)
    await assert_every_rpc_needs_a_token(floor.address, supervision_pb2.DESCRIPTOR)
