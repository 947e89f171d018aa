"""Queue-level alerts from routing's rolling statistics: a service level below the queue's target
over the last 15 minutes, and an abandonment spike (the last 15 minutes' abandonment rate well
above the day's). Each raises once per episode: it is raised when the queue turns bad and may be
raised again only after the queue was seen well in between."""

from __future__ import annotations

import dataclasses
import datetime as dt

from omni.supervision.domain.alerts import Alert, AlertKind, Subject, new_alert


@dataclasses.dataclass(frozen=True)
class QueueFigures:
    """Routing's figures of one queue over one window."""

    queue_id: str
    waiting: int = 0
    longest_wait: float = 0.0
    offered: int = 0
    answered: int = 0
    abandoned: int = 0
    # Fraction 0..1 answered within the queue's service-level seconds (routing's definition).
    service_level: float = 0.0
    bot_waiting: int = 0

    @property
    def decided(self) -> int:
        return self.answered + self.abandoned

    @property
    def abandonment_rate(self) -> float:
        return self.abandoned / self.offered if self.offered else 0.0

    def service_level_or_none(self) -> float | None:
        """None when nothing was answered or abandoned in the window: no figure to judge."""
        return self.service_level if self.decided else None


@dataclasses.dataclass(frozen=True)
class HealthRules:
    # The fewest contacts answered or abandoned in 15 minutes before a service level counts.
    min_decided: int = 5
    # A spike: at least `spike_min_abandoned` abandoned in 15 minutes, at a rate of at least
    # `spike_min_rate` and `spike_factor` times the day's.
    spike_min_abandoned: int = 3
    spike_min_rate: float = 0.2
    spike_factor: float = 2.0


@dataclasses.dataclass(frozen=True)
class QueueHealth:
    """What was last seen of a queue, and how many episodes of each alert it had."""

    queue_id: str
    service_level_low: bool = False
    abandonment_spike: bool = False
    service_level_episodes: int = 0
    spike_episodes: int = 0


def check(previous: QueueHealth, target: float, recent: QueueFigures, day: QueueFigures, rules: HealthRules,
          now: dt.datetime) -> tuple[QueueHealth, list[Alert]]:
    """The queue's health now and the alerts of episodes that start now. `target`: the queue's
    service-level target, 0..1 (0: none)."""
    alerts: list[Alert] = []
    about = Subject(queue_id=previous.queue_id)
    level = recent.service_level_or_none()
    low = bool(target) and level is not None and recent.decided >= rules.min_decided and level < target
    sl_episodes = previous.service_level_episodes
    if low and not previous.service_level_low:
        sl_episodes += 1
        alerts.append(new_alert(
            AlertKind.SERVICE_LEVEL_LOW, f"service_level_low:{previous.queue_id}:{sl_episodes}", now, about,
            f"service level {level or 0.0:.0%} < target {target:.0%} over 15 min "
            f"({recent.answered} answered, {recent.abandoned} abandoned)"))
    rate, usual = recent.abandonment_rate, _earlier_rate(recent, day)
    spike = (recent.abandoned >= rules.spike_min_abandoned and rate >= rules.spike_min_rate
             and (usual is None or rate >= rules.spike_factor * usual))
    spike_episodes = previous.spike_episodes
    if spike and not previous.abandonment_spike:
        spike_episodes += 1
        alerts.append(new_alert(
            AlertKind.ABANDONMENT_SPIKE, f"abandonment_spike:{previous.queue_id}:{spike_episodes}", now, about,
            f"{recent.abandoned} of {recent.offered} abandoned in 15 min "
            f"({rate:.0%}; earlier today {_percent(usual)})"))
    return QueueHealth(previous.queue_id, low, spike, sl_episodes, spike_episodes), alerts


def _percent(rate: float | None) -> str:
    return "-" if rate is None else f"{rate:.0%}"


def _earlier_rate(recent: QueueFigures, day: QueueFigures) -> float | None:
    """The day's abandonment rate before the recent window; None when nothing came before it."""
    offered = day.offered - recent.offered
    return max(0, day.abandoned - recent.abandoned) / offered if offered > 0 else None
