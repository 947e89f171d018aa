"""The customer's side of the satisfaction survey, for the widget when a chat ends and for the
page an emailed survey link opens: the contact's survey, then the customer's one answer.

The customer token of that contact (the widget's session token, or the one in the link) is the
only credential, relayed as is: sessions decides whose survey it is and what answer counts.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from omni.runtime.auth import bearer
from omni.runtime.errors import FailedPrecondition, NotFound
from omni.web import convert
from omni.web.domain.survey_frames import OpenSurvey, SurveyAnswer
from omni.web.upstream import Upstream, relay
from omni.web.usecases.live import Send
from omnichannel.sessions.v1 import sessions_pb2

# Sessions asks a contact's survey a moment after the contact ends (from its own event): the
# widget, which opens the survey when it sees the end, waits up to this long for it.
SURVEY_WAIT_ATTEMPTS = 20
SURVEY_RETRY_SECONDS = 0.5


class CustomerSurvey:
    def __init__(self, upstream: Upstream) -> None:
        self._up = upstream

    async def run(self, frames: AsyncIterator[OpenSurvey | SurveyAnswer], send: Send) -> None:
        opened: OpenSurvey | None = None
        async for frame in frames:
            if isinstance(frame, OpenSurvey):
                opened = frame
                await send({"survey": convert.to_json(await self._survey(frame))})
            elif opened is None:
                raise FailedPrecondition("open a survey before answering it")
            else:
                request = sessions_pb2.AnswerSurveyRequest(session_id=opened.session_id, csat=frame.csat,
                                                           nps=frame.nps)
                answered = await relay(self._up.sessions.AnswerSurvey(request, metadata=bearer(opened.token),
                                                                      timeout=self._up.timeout))
                await send({"answered": convert.to_json(answered)})
                return

    async def _survey(self, frame: OpenSurvey) -> sessions_pb2.Survey:
        request = sessions_pb2.GetSurveyRequest(session_id=frame.session_id)
        for _ in range(SURVEY_WAIT_ATTEMPTS - 1):
            try:
                return await self._get(request, frame.token)
            except NotFound:
                await asyncio.sleep(SURVEY_RETRY_SECONDS)
        return await self._get(request, frame.token)

    async def _get(self, request: sessions_pb2.GetSurveyRequest, token: str) -> sessions_pb2.Survey:
        return await relay(self._up.sessions.GetSurvey(request, metadata=bearer(token), timeout=self._up.timeout))
