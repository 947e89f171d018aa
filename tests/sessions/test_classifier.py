"""The keyword classifier's emotion score and emergency flag, per turn, on the labelled set."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from omni.runtime.auth import Role
from omni.sessions.domain.classifier import KeywordClassifier
from omnichannel.sessions.v1 import events_pb2
from omnichannel.sessions.v1 import sessions_pb2 as pb

UTTERANCES = Path(__file__).resolve().parent.parent / "data" / "classifier_utterances.jsonl"


@pytest.mark.parametrize(("text", "at_least", "below"), [
    ("I am furious, this is unacceptable!!", 8, 11),
    ("气死我了，你们又断网了！", 8, 11),
    ("Oh great, the internet is down again. Just what I needed.", 8, 11),  # sarcasm
    ("I'd like to make a complaint about the engineer's visit, please.", 0, 8),  # polite
    ("I'm not angry, I just want to understand the charge.", 0, 8),  # disclaimed
    ("hello", 0, 1),
])
def test_emotion_score(text: str, at_least: int, below: int) -> None:
    assert at_least <= KeywordClassifier().classify(text).emotion_score < below


@pytest.mark.parametrize(("text", "urgent"), [
    ("There's a gas leak near your meter outside my house.", True),
    ("路由器冒烟了，还有焦味", True),
    ("紧急！我家宽带断了", True),
    ("No rush, it's not urgent, just wondering about roaming prices.", False),
    ("What are the child safety settings on the app?", False),
])
def test_emergency_flag(text: str, urgent: bool) -> None:
    assert KeywordClassifier().classify(text).urgent is urgent


def test_labelled_set_precision_and_recall() -> None:
    """The decisions routing acts on hold their measured quality (bench/classifier_quality.py has
    the table per class); a change of cues that loses more than a few points fails here."""
    rows = [json.loads(line) for line in UTTERANCES.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(rows) >= 200
    assert {r["class"] for r in rows} >= {"angry", "urgent", "safety", "neutral", "polite_complaint", "sarcasm",
                                           "mixed"}
    classifier = KeywordClassifier()
    found = [classifier.classify(r["text"]) for r in rows]
    for label, decided, floor in (("angry", [f.emotion_score >= 8 for f in found], 0.8),
                                  ("emergency", [f.urgent for f in found], 0.9)):
        expected = [r[label] for r in rows]
        true_pos = sum(e and d for e, d in zip(expected, decided, strict=True))
        assert true_pos / sum(decided) >= floor, f"{label} precision"
        assert true_pos / sum(expected) >= floor, f"{label} recall"


async def test_each_chat_turn_carries_its_own_score(stack, published) -> None:
    """Every customer turn is scored: the interaction carries the turn's score beside the
    session's highest, so routing can see a conversation heat up and calm down."""
    outgoing: asyncio.Queue[pb.ChatClientFrame | None] = asyncio.Queue()

    async def frames() -> AsyncIterator[pb.ChatClientFrame]:
        while (frame := await outgoing.get()) is not None:
            yield frame

    call = stack.chat.Chat(frames(), metadata=stack.token(Role.CUSTOMER, "app-user-7"))
    await outgoing.put(pb.ChatClientFrame(start=pb.ChatStart(handle="app-user-7", language="en")))
    turns = ("My internet is not working", "I am furious, this is unacceptable!!", "ok, thanks")
    for number, text in enumerate(turns, start=1):
        await outgoing.put(pb.ChatClientFrame(text=pb.ChatText(text=text, client_message_id=f"m{number}")))
    received = await published.wait("interaction_received", events_pb2.InteractionReceived, count=3)
    by_text = {r.interaction.text: r.interaction for r in received}
    assert [by_text[t].turn_emotion_score >= 8 for t in turns] == [False, True, False]
    assert [by_text[t].emotion_score >= 8 for t in turns] == [False, True, True]
    await outgoing.put(None)
    call.cancel()
