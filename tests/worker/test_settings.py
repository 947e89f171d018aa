"""The worker's follow-up settings fail at start-up, naming the variable, when one follow-up
could not fit in a conversation; routing's claim no longer bounds them (the bot renews it)."""

from __future__ import annotations

import re

import pytest

from omni.runtime.config import ConfigError
from omni.worker.settings import WorkerSettings


def test_the_defaults_wait_90_s_for_a_reply_and_answer_three_times() -> None:
    settings = WorkerSettings.from_env({})
    assert (settings.worker_followup_seconds, settings.worker_max_answers) == (90.0, 3)
    assert settings.worker_conversation_seconds == 600.0


def test_a_followup_longer_than_routings_claim_is_accepted_with_a_longer_conversation() -> None:
    settings = WorkerSettings.from_env({"OMNI_WORKER_FOLLOWUP_SECONDS": "900",
                                        "OMNI_WORKER_CONVERSATION_SECONDS": "1800"})
    assert (settings.worker_followup_seconds, settings.worker_conversation_seconds) == (900.0, 1800.0)


@pytest.mark.parametrize(("variable", "value", "message"), [
    ("OMNI_WORKER_FOLLOWUP_SECONDS", "600", "OMNI_WORKER_FOLLOWUP_SECONDS=600 must be above 0 and below "
                                            "OMNI_WORKER_CONVERSATION_SECONDS=600: the bot waits for a reply within "
                                            "one conversation"),
    ("OMNI_WORKER_FOLLOWUP_SECONDS", "0", "OMNI_WORKER_FOLLOWUP_SECONDS=0 must be above 0"),
    ("OMNI_WORKER_CONVERSATION_SECONDS", "60", "OMNI_WORKER_FOLLOWUP_SECONDS=90 must be above 0 and below "
                                               "OMNI_WORKER_CONVERSATION_SECONDS=60"),
    ("OMNI_WORKER_MAX_ANSWERS", "0", "OMNI_WORKER_MAX_ANSWERS=0 must be at least 1"),
])
def test_a_followup_that_cannot_fit_in_a_conversation_is_refused(variable: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError, match="^" + re.escape(message)):
        WorkerSettings.from_env({variable: value})
