"""The worker's follow-up settings fail at start-up, naming the variable, when routing would take
the chat back from the bot before one follow-up could end."""

from __future__ import annotations

import re

import pytest

from omni.runtime.config import ConfigError
from omni.worker.settings import WorkerSettings

SECRET = {"OMNI_JWT_SECRET": "x" * 32}


def test_the_defaults_wait_90_s_for_a_reply_and_answer_three_times() -> None:
    settings = WorkerSettings.from_env(SECRET)
    assert (settings.worker_followup_seconds, settings.worker_max_answers) == (90.0, 3)


@pytest.mark.parametrize(("variable", "value", "message"), [
    ("OMNI_WORKER_FOLLOWUP_SECONDS", "300", "OMNI_WORKER_FOLLOWUP_SECONDS=300 must be above 0 and below 270: "
                                            "routing takes bot work back 300 s after the bot took it"),
    ("OMNI_WORKER_FOLLOWUP_SECONDS", "0", "OMNI_WORKER_FOLLOWUP_SECONDS=0 must be above 0"),
    ("OMNI_WORKER_MAX_ANSWERS", "0", "OMNI_WORKER_MAX_ANSWERS=0 must be at least 1"),
])
def test_a_followup_that_cannot_fit_in_routings_claim_is_refused(variable: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError, match="^" + re.escape(message)):
        WorkerSettings.from_env({**SECRET, variable: value})
