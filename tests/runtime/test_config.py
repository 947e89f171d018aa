from __future__ import annotations

import dataclasses

import pytest

from omni.runtime.config import ConfigError, ServiceSettings


@dataclasses.dataclass(frozen=True, kw_only=True)
class NeedsOne(ServiceSettings):
    # A setting without a default: required.
    queue_name: str


def test_missing_required_variable_is_named() -> None:
    with pytest.raises(ConfigError, match="OMNI_QUEUE_NAME"):
        NeedsOne.from_env({})


def test_values_are_parsed_to_their_types() -> None:
    settings = ServiceSettings.from_env(
        {"OMNI_SHUTDOWN_GRACE": "2.5", "OMNI_EVENT_MAX_ATTEMPTS": "7",
         "OMNI_EVENT_BACKOFF_SECONDS": "0.5, 2"}
    )
    assert settings.shutdown_grace == 2.5
    assert settings.event_max_attempts == 7
    assert settings.backoff == (0.5, 2.0)
    assert settings.database_for("tickets") == "omnichannel_tickets"


def test_bad_number_is_reported_with_its_variable() -> None:
    with pytest.raises(ConfigError, match="OMNI_EVENT_MAX_ATTEMPTS='many' is not a int"):
        ServiceSettings.from_env({"OMNI_EVENT_MAX_ATTEMPTS": "many"})


def test_one_field_reads_without_the_required_ones() -> None:
    assert ServiceSettings.field_from_env("shutdown_grace", {}) == 10.0
    assert ServiceSettings.field_from_env("shutdown_grace", {"OMNI_SHUTDOWN_GRACE": "3"}) == 3.0
    assert NeedsOne.field_from_env("shutdown_grace", {}) == 10.0
    with pytest.raises(ConfigError, match="OMNI_QUEUE_NAME"):
        NeedsOne.field_from_env("queue_name", {})
