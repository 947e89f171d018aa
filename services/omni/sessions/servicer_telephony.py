"""gRPC ↔ use cases for TelephonyService, which the PBX/CPaaS adapter calls."""

from __future__ import annotations

from omni.runtime.auth import current_principal
from omni.runtime.errors import FailedPrecondition
from omni.runtime.interceptors import Context
from omni.runtime.proto_values import to_datetime
from omni.runtime.validation import require
from omni.sessions import convert
from omni.sessions.usecases.calls import Calls, CallStep
from omni.sessions.usecases.outbound_calls import OutboundCalls
from omni.sessions.usecases.sms import SmsChannel
from omnichannel.sessions.v1 import sessions_pb2 as pb
from omnichannel.sessions.v1 import sessions_pb2_grpc


def _call(step: CallStep) -> pb.CallResponse:
    return pb.CallResponse(session=convert.session_to_proto(step.session), prompt=step.prompt,
                           prompt_style=pb.PROMPT_STYLE_SLOW_PLAIN if step.slow_prompts else pb.PROMPT_STYLE_STANDARD)


class TelephonyServicer(sessions_pb2_grpc.TelephonyServiceServicer):
    def __init__(self, calls: Calls, outbound: OutboundCalls, sms: SmsChannel | None) -> None:
        self._calls = calls
        self._outbound = outbound
        self._sms = sms

    async def StartCall(self, request: pb.StartCallRequest, context: Context) -> pb.CallResponse:
        return _call(await self._calls.start(request.call_id, request.ani, request.dnis, request.language,
                                             request.previous_session_id, request.accessibility))

    async def SubmitIvrInput(self, request: pb.SubmitIvrInputRequest, context: Context) -> pb.CallResponse:
        return _call(await self._calls.ivr_input(require(request.call_id, "call_id"), request.digits,
                                                 request.speech_text))

    async def AnswerCall(self, request: pb.AnswerCallRequest, context: Context) -> pb.CallResponse:
        return _call(await self._calls.answer(require(request.call_id, "call_id"), request.agent_id))

    async def TransferCall(self, request: pb.TransferCallRequest, context: Context) -> pb.CallResponse:
        return _call(await self._calls.transfer(require(request.call_id, "call_id"), request.reason,
                                                request.target_queue, request.target_agent_id))

    async def EndCall(self, request: pb.EndCallRequest, context: Context) -> pb.CallResponse:
        return _call(await self._calls.end(require(request.call_id, "call_id"), request.abandoned))

    async def AttachRecording(self, request: pb.AttachRecordingRequest, context: Context) -> pb.CallResponse:
        return _call(await self._calls.attach_recording(require(request.call_id, "call_id"), request.recording_url,
                                                        request.transcript))

    async def RequestCallback(self, request: pb.RequestCallbackRequest, context: Context) -> pb.CallResponse:
        not_before = to_datetime(request.not_before) if request.HasField("not_before") else None
        return _call(await self._calls.request_callback(require(request.call_id, "call_id"), request.number,
                                                        not_before))

    async def SuperviseCall(self, request: pb.SuperviseCallRequest, context: Context) -> pb.CallLegCommand:
        command = await self._calls.supervise(current_principal(), request.session_id,
                                              convert.require_call_leg_mode(request.mode), request.request_id)
        return convert.call_leg_to_proto(command)

    async def ReportOutboundCall(self, request: pb.ReportOutboundCallRequest, context: Context) -> pb.CallResponse:
        return _call(CallStep(await self._outbound.report(request.call_id, convert.call_result(request.result))))

    async def SendWaitSms(self, request: pb.SendWaitSmsRequest, context: Context) -> pb.CallResponse:
        if self._sms is None:
            raise FailedPrecondition("the SMS channel is not configured (OMNI_SMS_SMSC)")
        return _call(CallStep(await self._sms.notify_wait(require(request.call_id, "call_id"), request.position,
                                                          request.estimated_wait_seconds)))
