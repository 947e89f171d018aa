"""The rules that fire on time rather than on an event: a greeting that has not come, an SLA
target about to fall due, and the queue checks on routing's statistics. Every replica may run
them: an alert is stored once per origin, so two replicas raise it once."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable

from omni.runtime.clock import utcnow
from omni.supervision.domain.contacts import late_greeting
from omni.supervision.domain.follow_ups import overdue
from omni.supervision.domain.queue_health import HealthRules, QueueFigures, check
from omni.supervision.domain.sla import imminent
from omni.supervision.domain.usual_band import BandRules, band_alerts, hour_figures
from omni.supervision.repository import SupervisionRepository
from omni.supervision.routing_reader import HOUR, RECENT, RoutingReader, today_window
from omni.supervision.usecases.alerts import Alerts

log = logging.getLogger("omni.supervision.timers")


class Timers:
    def __init__(self, alerts: Alerts, repo: SupervisionRepository, reader: RoutingReader, *,
                 greeting_target: float, sla_warning: float, rules: HealthRules, band: BandRules) -> None:
        self._alerts = alerts
        self._repo = repo
        self._reader = reader
        self._greeting_target = greeting_target
        self._sla_warning = sla_warning
        self._rules = rules
        self._band = band
        # The last hour this process judged: the hour's statistics are read once, not every check.
        self._judged: dt.datetime | None = None

    async def sweep(self) -> None:
        """Greetings overdue, SLA targets about to fall due and follow-ups past their deadline."""
        now = utcnow()
        for contact in await self._repo.contacts_ungreeted_since(now - dt.timedelta(seconds=self._greeting_target)):
            alert = late_greeting(contact, now, self._greeting_target)
            if alert is not None:
                await self._alerts.raise_alerts([alert])
                await self._repo.contact_judged(contact.work_id)
        for target in await self._repo.sla_to_warn(now):
            alert = imminent(target, now, self._sla_warning)
            if alert is not None:
                await self._alerts.raise_alerts([alert])
            await self._repo.sla_warned(target)
        for follow_up in await self._repo.follow_ups_overdue(now):
            alert = overdue(follow_up, now)
            if alert is not None:
                await self._alerts.raise_alerts([alert])
            await self._repo.follow_up_alerted(follow_up.work_id)

    async def check_queues(self) -> None:
        """Each queue's service level and abandonment over the last 15 minutes."""
        now = utcnow()
        queues = await self._reader.queues()
        recent = await self._reader.queue_figures(RECENT)
        today = await self._reader.queue_figures(today_window(now))
        for queue in queues:
            previous = await self._repo.queue_health(queue.id)
            health, alerts = check(previous, queue.target, recent.get(queue.id, QueueFigures(queue.id)),
                                   today.get(queue.id, QueueFigures(queue.id)), self._rules, now)
            await self._alerts.raise_alerts(alerts)
            if health != previous:
                await self._repo.save_queue_health(health)
        await self._judge_last_hour(now, [queue.id for queue in queues])

    async def _judge_last_hour(self, now: dt.datetime, queue_ids: list[str]) -> None:
        """Once per clock hour, at the first check after it ended: each queue's figures of the last
        60 minutes are kept and judged against their usual band (docs/supervisor.md). The window
        ends at the check, up to one check interval after the hour: close enough for a baseline."""
        hour_start = now.replace(minute=0, second=0, microsecond=0) - dt.timedelta(hours=1)
        if hour_start == self._judged:
            return
        last_hour = await self._reader.queue_figures(HOUR)
        history_from = hour_start - max(dt.timedelta(weeks=self._band.weeks), dt.timedelta(days=self._band.days))
        for queue_id in queue_ids:
            figures = last_hour.get(queue_id, QueueFigures(queue_id))
            hour = hour_figures(queue_id, hour_start, figures.offered, figures.answered, figures.abandoned,
                                figures.service_level, self._rules.min_decided)
            if not await self._repo.record_hour(hour):
                continue
            history = await self._repo.hours_since(queue_id, history_from, hour_start)
            await self._alerts.raise_alerts(band_alerts(hour, history, self._band, now))
        self._judged = hour_start


async def every(seconds: float, step: Callable[[], Awaitable[None]], name: str) -> None:
    """Run `step` every `seconds` until cancelled; a failure is logged and tried again next time."""
    while True:
        await asyncio.sleep(seconds)
        try:
            await step()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s failed; trying again in %.0fs", name, seconds)
