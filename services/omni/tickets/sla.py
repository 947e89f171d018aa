"""SLA policies: first-response and resolution targets per priority, and when they are due."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Mapping

from omni.runtime.config import ConfigError
from omni.tickets.lifecycle import Priority


@dataclasses.dataclass(frozen=True)
class Targets:
    first_response: dt.timedelta
    resolution: dt.timedelta


@dataclasses.dataclass(frozen=True)
class SlaPolicy:
    targets: Mapping[Priority, Targets]

    def due(self, priority: Priority, start: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
        """(first response due, resolution due) for a ticket opened at `start`."""
        target = self.targets[priority]
        return start + target.first_response, start + target.resolution


def parse_minutes(entries: Iterable[str], setting: str) -> dict[Priority, float]:
    """`("urgent=15", "high=60", ...)` → minutes per priority; every priority must be given."""
    minutes: dict[Priority, float] = {}
    for entry in entries:
        name, eq, raw = entry.partition("=")
        try:
            priority = Priority[name.strip().upper()]
            value = float(raw)
        except (KeyError, ValueError):
            raise ConfigError(f"{setting}: {entry!r} is not priority=minutes (priorities: low, normal, high, "
                              "urgent)") from None
        if not eq or value <= 0:
            raise ConfigError(f"{setting}: {entry!r} needs a positive number of minutes")
        minutes[priority] = value
    missing = [p.name.lower() for p in Priority if p not in minutes]
    if missing:
        raise ConfigError(f"{setting} has no target for: {', '.join(missing)}")
    return minutes


def policy_from(first_response: Iterable[str], resolution: Iterable[str]) -> SlaPolicy:
    first = parse_minutes(first_response, "OMNI_SLA_FIRST_RESPONSE_MINUTES")
    resolve = parse_minutes(resolution, "OMNI_SLA_RESOLUTION_MINUTES")
    return SlaPolicy({p: Targets(dt.timedelta(minutes=first[p]), dt.timedelta(minutes=resolve[p])) for p in Priority})
