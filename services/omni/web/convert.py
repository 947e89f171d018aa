"""Protobuf ↔ the JSON the browsers see.

Outbound: protobuf's JSON mapping with the proto field names, every field present (a UI reads
`position: 0` rather than guessing what a missing field means), enums by name.
"""

from __future__ import annotations

from google.protobuf import json_format
from google.protobuf.message import Message

from omni.web.domain.desk_commands import Accept, DeskCommand, Reject, SetPresence, WrapUp
from omni.web.domain.inputs import Json
from omnichannel.routing.v1 import routing_pb2

PRESENCE = {"available": routing_pb2.AGENT_STATUS_AVAILABLE, "break": routing_pb2.AGENT_STATUS_BREAK,
            "offline": routing_pb2.AGENT_STATUS_OFFLINE}


def to_json(message: Message) -> Json:
    return json_format.MessageToDict(message, always_print_fields_with_no_presence=True,
                                     preserving_proto_field_name=True)


def agent_command(agent_id: str, command: DeskCommand) -> routing_pb2.AgentCommand:
    match command:
        case SetPresence(status, reason):
            return routing_pb2.AgentCommand(set_state=routing_pb2.SetAgentStateRequest(
                agent_id=agent_id, status=PRESENCE[status], reason=reason))
        case Accept(offer_id):
            return routing_pb2.AgentCommand(accept=routing_pb2.AcceptOffer(offer_id=offer_id))
        case Reject(offer_id, reason):
            return routing_pb2.AgentCommand(reject=routing_pb2.RejectOffer(offer_id=offer_id, reason=reason))
        case WrapUp(work_id, disposition, note):
            return routing_pb2.AgentCommand(wrap_up=routing_pb2.WrapUp(work_id=work_id, disposition=disposition,
                                                                      note=note))


def agent_event(event: routing_pb2.AgentEvent) -> Json:
    """One of `{"agent": {...}}`, `{"offer": {...}}`, `{"offer_revoked": "id"}`, `{"assigned": {...}}`,
    `{"error": "..."}`."""
    kind = event.WhichOneof("event") or "error"
    value = getattr(event, kind)
    return {kind: value if isinstance(value, str) else to_json(value)}
