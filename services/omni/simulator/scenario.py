"""A simulation scenario: who calls, chats and emails, when, about what, and who answers.

Loaded from YAML (see `scenarios/*.yaml`). Validation collects every problem with the path of
the offending field (`intents[1].volume.fax: unknown channel ...`) so a scenario author fixes
them all in one go instead of one per run.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml

CHANNELS = ("phone", "chat", "email")
DistributionKind = Literal["exponential", "lognormal", "fixed"]
SCENARIO_DIR = Path(__file__).parent / "scenarios"


class ScenarioError(ValueError):
    """The scenario file is unusable; `problems` lists every field that is wrong."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(f"{source}: {len(problems)} problem(s):\n  " + "\n  ".join(problems))


@dataclasses.dataclass(frozen=True, kw_only=True)
class Distribution:
    """A positive random duration in seconds: `{mean: 240, cv: 0.8}` (lognormal by default)."""

    mean: float
    cv: float = 1.0
    kind: DistributionKind = "lognormal"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Intent:
    name: str
    queue: str
    # The routing skill an agent needs to handle it well.
    skill: str
    # Contacts per day per channel (before the time-of-day profile spreads them).
    volume: Mapping[str, float]
    handle: Mapping[str, Distribution]
    # Chance a fully proficient agent resolves the matter at the first contact.
    resolution: float = 0.85
    # May overflow to the self-service bot when the queue is long.
    simple: bool = False


@dataclasses.dataclass(frozen=True, kw_only=True)
class CustomerMix:
    # Distinct customers; unresolved matters bring the same customer back.
    population: int = 50_000
    vip_share: float = 0.05
    languages: Mapping[str, float] = dataclasses.field(default_factory=lambda: {"en": 1.0})
    # Share with an emotion score of 8..10 (angry), and with emergency words.
    angry_share: float = 0.04
    urgent_share: float = 0.02
    # How long a customer waits before hanging up, per channel; absent = never abandons (email).
    patience: Mapping[str, Distribution] = dataclasses.field(default_factory=dict)
    # Chance a caller takes a callback when one is offered.
    callback_acceptance: float = 0.5
    # When an unresolved customer comes back, and the chance they switch channel to do so.
    repeat_delay: Distribution = Distribution(mean=3600.0, cv=0.6)
    channel_switch: float = 0.4
    # Chance the self-service bot resolves an overflowed simple inquiry.
    bot_resolution: float = 0.6


@dataclasses.dataclass(frozen=True, kw_only=True)
class AgentTeam:
    name: str
    count: int
    # Skill -> proficiency 1..5.
    skills: Mapping[str, int]
    languages: tuple[str, ...]
    # Channel -> concurrent contacts (phone 1, chat 2-3, email 1).
    channels: Mapping[str, int]
    # Seconds from midnight.
    shift_start: float
    shift_end: float
    supervisor: bool = False
    # Dedicated to VIP customers (seed 000's dedicated seats): the routing policy gives them VIP
    # calls and chats only; the FIFO baseline, which knows no tiers, uses them like anyone.
    vip_desk: bool = False
    wrap_up: Distribution = Distribution(mean=20.0, kind="fixed")


@dataclasses.dataclass(frozen=True, kw_only=True)
class RoutingTargets:
    # Service-level target per channel: (fraction, seconds), e.g. phone 80 % in 20 s.
    service_level: Mapping[str, tuple[float, float]]
    callback_threshold: float = 60.0
    overflow_threshold: int = 50
    vip_target_seconds: float = 15.0
    # Business queue -> the longest its contacts should wait on any channel, where shorter than
    # the channel's target (seed 000: complaints handled within 15 minutes, e-mail too).
    queue_wait_seconds: Mapping[str, float] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True, kw_only=True)
class OfferBehaviour:
    """How agents answer routing's offers. By default at once and always (no RONA)."""

    # The queues' offer timeout: an offer not accepted by then goes to someone else (RONA).
    timeout: float = 20.0
    # How long an agent takes to accept an offer they answer; None: at once.
    answer: Distribution | None = None
    # Share of offers nobody answers (the agent is away from the desk): they time out.
    no_answer: float = 0.0
    # An agent the engine put on break for missed offers is back after this long.
    back_after_break: float = 120.0


@dataclasses.dataclass(frozen=True, kw_only=True)
class OutboundCalls:
    """The calls of callbacks (docs/outbound.md): the chance a customer answers, by the hour of
    the day the call starts and their language (`answer_by_hour`: language, or "*" for everyone,
    -> hour -> chance; hours not listed: `answer`), how long an unanswered call holds the agent,
    and the attempt policy (a redial after each delay, at most `max_attempts` calls, put off by up
    to `best_time_window` to the best hour learned so far; 0: called when the delay ends)."""

    answer: float = 0.6
    answer_by_hour: Mapping[str, Mapping[int, float]] = dataclasses.field(default_factory=dict)
    ring: Distribution = Distribution(mean=30.0, kind="fixed")
    retry_delays: tuple[float, ...] = (1800.0, 6 * 3600.0)
    max_attempts: int = 3
    best_time_window: float = 0.0

    def answer_chance(self, hour: int, language: str) -> float:
        for key in (language, "*"):
            chance = self.answer_by_hour.get(key, {}).get(hour)
            if chance is not None:
                return chance
        return self.answer


@dataclasses.dataclass(frozen=True, kw_only=True)
class Scenario:
    name: str
    description: str
    seed: int
    start_date: dt.date
    days: int
    # Opening hours, seconds from midnight.
    open_seconds: float
    close_seconds: float
    # Hour of day -> relative arrival weight (hours not listed weigh 1).
    profile: Mapping[int, float]
    intents: tuple[Intent, ...]
    customers: CustomerMix
    teams: tuple[AgentTeam, ...]
    targets: RoutingTargets
    offers: OfferBehaviour = OfferBehaviour()
    outbound: OutboundCalls = OutboundCalls()

    @property
    def queues(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(i.queue for i in self.intents))

    def daily_volume(self) -> float:
        return sum(sum(i.volume.values()) for i in self.intents)

    def scaled(self, factor: float) -> Scenario:
        """The same day with `factor` times the contacts and the agents (rounded up)."""
        if factor <= 0:
            raise ValueError("scale factor must be positive")
        intents = tuple(
            dataclasses.replace(i, volume={c: v * factor for c, v in i.volume.items()}) for i in self.intents
        )
        teams = tuple(dataclasses.replace(t, count=max(1, math.ceil(t.count * factor))) for t in self.teams)
        customers = dataclasses.replace(self.customers, population=max(1, int(self.customers.population * factor)))
        return dataclasses.replace(self, intents=intents, teams=teams, customers=customers)


def load(path: Path | str) -> Scenario:
    """Load a scenario file, or a bundled scenario by name (`normal-day`)."""
    file = Path(path)
    if not file.exists() and not file.suffix:
        file = SCENARIO_DIR / f"{path}.yaml"
    if not file.exists():
        bundled = ", ".join(bundled_names())
        raise ScenarioError(str(path), [f"no such file (bundled scenarios: {bundled})"])
    try:
        raw = yaml.safe_load(file.read_text())
    except yaml.YAMLError as exc:
        raise ScenarioError(str(file), [f"not valid YAML: {exc}"]) from exc
    return parse(raw, source=str(file))


def bundled_names() -> list[str]:
    return sorted(p.stem for p in SCENARIO_DIR.glob("*.yaml"))


def parse(raw: object, *, source: str = "scenario") -> Scenario:
    reader = _Reader()
    scenario = reader.scenario(raw)
    if reader.problems or scenario is None:
        raise ScenarioError(source, reader.problems or ["empty scenario"])
    return scenario


class _Reader:
    """Reads the YAML tree field by field, recording problems instead of stopping at the first."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def fail(self, path: str, message: str) -> None:
        self.problems.append(f"{path}: {message}")

    def mapping(self, value: object, path: str) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.fail(path, f"expected a mapping, got {type(value).__name__}")
            return {}
        return {str(k): v for k, v in value.items()}

    def number(self, value: object, path: str, *, low: float = 0.0, high: float = math.inf,
               default: float | None = None) -> float:
        if value is None and default is not None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.fail(path, f"expected a number, got {value!r}")
            return default if default is not None else low
        if not low <= value <= high:
            bounds = f"between {low:g} and {high:g}" if high != math.inf else f"at least {low:g}"
            self.fail(path, f"{value!r} must be {bounds}")
        return float(value)

    def integer(self, value: object, path: str, *, low: int = 0, default: int | None = None) -> int:
        if value is None and default is not None:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(path, f"expected a whole number, got {value!r}")
            return default if default is not None else low
        if value < low:
            self.fail(path, f"{value} must be at least {low}")
        return value

    def text(self, value: object, path: str, *, default: str | None = None) -> str:
        if value is None and default is not None:
            return default
        if not isinstance(value, str) or not value.strip():
            self.fail(path, "expected a non-empty string")
            return default or ""
        return value.strip()

    def clock(self, value: object, path: str) -> float:
        """'08:30' -> seconds from midnight ('24:00' allowed as an end)."""
        text = str(value) if value is not None else ""
        try:
            hours, minutes = (int(part) for part in text.split(":"))
        except ValueError:
            self.fail(path, f"expected a time like '08:30', got {value!r}")
            return 0.0
        if not (0 <= hours <= 24 and 0 <= minutes < 60) or (hours == 24 and minutes):
            self.fail(path, f"{text} is not a time of day")
        return float(hours * 3600 + minutes * 60)

    def channel_keys(self, value: object, path: str) -> dict[str, Any]:
        result = self.mapping(value, path)
        for key in result:
            if key not in CHANNELS:
                self.fail(f"{path}.{key}", f"unknown channel {key!r} (expected one of {', '.join(CHANNELS)})")
        return {k: v for k, v in result.items() if k in CHANNELS}

    def distribution(self, value: object, path: str) -> Distribution:
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = {"mean": value}
        raw = self.mapping(value, path)
        unknown = set(raw) - {"mean", "cv", "kind"}
        if unknown:
            self.fail(path, f"unknown field(s) {sorted(unknown)} (expected mean, cv, kind)")
        mean = self.number(raw.get("mean"), f"{path}.mean", low=1e-9)
        cv = self.number(raw.get("cv"), f"{path}.cv", high=10.0, default=1.0)
        kind = raw.get("kind", "lognormal")
        if kind not in ("exponential", "lognormal", "fixed"):
            self.fail(f"{path}.kind", f"{kind!r} is not one of exponential, lognormal, fixed")
            kind = "lognormal"
        return Distribution(mean=mean, cv=cv, kind=kind)

    def shares(self, value: object, path: str) -> dict[str, float]:
        raw = self.mapping(value, path)
        shares = {k: self.number(v, f"{path}.{k}", high=1.0) for k, v in raw.items()}
        if shares and not math.isclose(sum(shares.values()), 1.0, abs_tol=1e-6):
            self.fail(path, f"shares add up to {sum(shares.values()):.3f}, expected 1")
        return shares

    def scenario(self, raw: object) -> Scenario | None:
        if not isinstance(raw, dict):
            self.fail("scenario", "expected a YAML mapping at the top level")
            return None
        top = self.mapping(raw, "scenario")
        known = {"name", "description", "seed", "start_date", "days", "hours", "profile", "intents",
                 "customers", "agents", "targets", "offers", "outbound"}
        for key in sorted(set(top) - known):
            self.fail(key, f"unknown field (expected one of {', '.join(sorted(known))})")
        hours = self.mapping(top.get("hours"), "hours")
        open_s = self.clock(hours.get("open", "08:00"), "hours.open")
        close_s = self.clock(hours.get("close", "18:00"), "hours.close")
        if close_s <= open_s:
            self.fail("hours", "close must be after open")
        start = top.get("start_date", dt.date(2026, 11, 23))
        if isinstance(start, str):
            try:
                start = dt.date.fromisoformat(start)
            except ValueError:
                self.fail("start_date", f"expected an ISO date like 2026-11-23, got {start!r}")
                start = dt.date(2026, 11, 23)
        if not isinstance(start, dt.date):
            self.fail("start_date", f"expected an ISO date, got {start!r}")
            start = dt.date(2026, 11, 23)
        profile: dict[int, float] = {}
        for key, weight in self.mapping(top.get("profile"), "profile").items():
            hour = int(key) if key.isdigit() else -1
            if not 0 <= hour <= 23:
                self.fail(f"profile.{key}", "expected an hour of day 0..23")
                continue
            profile[hour] = self.number(weight, f"profile.{key}")
        intents = self.intents(top.get("intents"))
        teams = self.teams(top.get("agents"))
        customers = self.customers(top.get("customers"))
        targets = self.targets(top.get("targets"))
        for queue in sorted(set(targets.queue_wait_seconds) - {i.queue for i in intents}):
            self.fail(f"targets.queue_wait_seconds.{queue}", "no intent goes to this queue")
        self.cross_check(intents, teams, customers)
        return Scenario(
            name=self.text(top.get("name"), "name"),
            description=self.text(top.get("description"), "description", default=""),
            seed=self.integer(top.get("seed"), "seed", default=1),
            start_date=start,
            days=self.integer(top.get("days"), "days", low=1, default=1),
            open_seconds=open_s,
            close_seconds=close_s,
            profile=profile,
            intents=tuple(intents),
            customers=customers,
            teams=tuple(teams),
            targets=targets,
            offers=self.offers(top.get("offers")),
            outbound=self.outbound(top.get("outbound")),
        )

    def outbound(self, value: object) -> OutboundCalls:
        raw = self.mapping(value, "outbound")
        fields = ("answer", "answer_by_hour", "ring", "retry_delays", "max_attempts", "best_time_window")
        unknown = set(raw) - set(fields)
        if unknown:
            self.fail("outbound", f"unknown field(s) {sorted(unknown)} (expected {', '.join(fields)})")
        defaults = OutboundCalls()
        by_hour: dict[str, dict[int, float]] = {}
        for language, hours in self.mapping(raw.get("answer_by_hour"), "outbound.answer_by_hour").items():
            path = f"outbound.answer_by_hour.{language}"
            for key, chance in self.mapping(hours, path).items():
                hour = int(key) if key.isdigit() else -1
                if not 0 <= hour <= 23:
                    self.fail(f"{path}.{key}", "expected an hour of day 0..23")
                    continue
                by_hour.setdefault(language, {})[hour] = self.number(chance, f"{path}.{key}", high=1.0)
        delays = raw.get("retry_delays", list(defaults.retry_delays))
        if not isinstance(delays, list) or not delays:
            self.fail("outbound.retry_delays", "expected a non-empty list of seconds")
            delays = list(defaults.retry_delays)
        return OutboundCalls(
            answer=self.number(raw.get("answer"), "outbound.answer", high=1.0, default=defaults.answer),
            answer_by_hour=by_hour,
            ring=self.distribution(raw["ring"], "outbound.ring") if "ring" in raw else defaults.ring,
            retry_delays=tuple(self.number(d, f"outbound.retry_delays[{n}]", low=1) for n, d in enumerate(delays)),
            max_attempts=self.integer(raw.get("max_attempts"), "outbound.max_attempts", low=1,
                                      default=defaults.max_attempts),
            best_time_window=self.number(raw.get("best_time_window"), "outbound.best_time_window", high=7 * 86400.0,
                                         default=defaults.best_time_window),
        )

    def offers(self, value: object) -> OfferBehaviour:
        raw = self.mapping(value, "offers")
        unknown = set(raw) - {"timeout", "answer", "no_answer", "back_after_break"}
        if unknown:
            self.fail("offers", f"unknown field(s) {sorted(unknown)} (expected timeout, answer, no_answer, "
                      "back_after_break)")
        return OfferBehaviour(
            timeout=self.number(raw.get("timeout"), "offers.timeout", low=1, default=20.0),
            answer=self.distribution(raw["answer"], "offers.answer") if "answer" in raw else None,
            no_answer=self.number(raw.get("no_answer"), "offers.no_answer", high=0.5, default=0.0),
            back_after_break=self.number(raw.get("back_after_break"), "offers.back_after_break", low=1,
                                         default=120.0),
        )

    def intents(self, value: object) -> list[Intent]:
        if not isinstance(value, list) or not value:
            self.fail("intents", "expected a non-empty list of intents")
            return []
        result = []
        for n, item in enumerate(value):
            path = f"intents[{n}]"
            raw = self.mapping(item, path)
            name = self.text(raw.get("name"), f"{path}.name")
            volume = {c: self.number(v, f"{path}.volume.{c}")
                      for c, v in self.channel_keys(raw.get("volume"), f"{path}.volume").items()}
            if not volume:
                self.fail(f"{path}.volume", "give contacts per day for at least one channel")
            handle = {c: self.distribution(v, f"{path}.handle.{c}")
                      for c, v in self.channel_keys(raw.get("handle"), f"{path}.handle").items()}
            for channel in volume:
                if channel not in handle:
                    self.fail(f"{path}.handle", f"no handle time for channel {channel!r}, which has volume")
            result.append(Intent(
                name=name,
                queue=self.text(raw.get("queue"), f"{path}.queue", default=name),
                skill=self.text(raw.get("skill"), f"{path}.skill", default=name),
                volume=volume,
                handle=handle,
                resolution=self.number(raw.get("resolution"), f"{path}.resolution", high=1.0, default=0.85),
                simple=bool(raw.get("simple", False)),
            ))
        names = [i.name for i in result]
        for name in {n for n in names if names.count(n) > 1}:
            self.fail("intents", f"intent {name!r} is listed twice")
        return result

    def teams(self, value: object) -> list[AgentTeam]:
        if not isinstance(value, list) or not value:
            self.fail("agents", "expected a non-empty list of agent teams")
            return []
        result = []
        for n, item in enumerate(value):
            path = f"agents[{n}]"
            raw = self.mapping(item, path)
            skills = {k: int(self.number(v, f"{path}.skills.{k}", low=1, high=5))
                      for k, v in self.mapping(raw.get("skills"), f"{path}.skills").items()}
            if not skills:
                self.fail(f"{path}.skills", "give at least one skill with a proficiency 1..5")
            channels = {c: self.integer(v, f"{path}.channels.{c}", low=1)
                        for c, v in self.channel_keys(raw.get("channels"), f"{path}.channels").items()}
            if not channels:
                self.fail(f"{path}.channels", "give at least one channel with its concurrent capacity")
            shift = str(raw.get("shift", "08:00-18:00"))
            start_text, _, end_text = shift.partition("-")
            start = self.clock(start_text.strip(), f"{path}.shift")
            end = self.clock(end_text.strip(), f"{path}.shift")
            if end <= start:
                self.fail(f"{path}.shift", f"{shift!r}: the end must be after the start")
            languages = raw.get("languages", ["en"])
            if not isinstance(languages, list) or not all(isinstance(x, str) for x in languages) or not languages:
                self.fail(f"{path}.languages", "expected a non-empty list of language tags")
                languages = ["en"]
            result.append(AgentTeam(
                name=self.text(raw.get("team"), f"{path}.team"),
                count=self.integer(raw.get("count"), f"{path}.count", low=1),
                skills=skills,
                languages=tuple(languages),
                channels=channels,
                shift_start=start,
                shift_end=end,
                supervisor=bool(raw.get("supervisor", False)),
                vip_desk=bool(raw.get("vip_desk", False)),
                wrap_up=self.distribution(raw.get("wrap_up", {"mean": 20, "kind": "fixed"}), f"{path}.wrap_up"),
            ))
        return result

    def customers(self, value: object) -> CustomerMix:
        raw = self.mapping(value, "customers")
        defaults = CustomerMix()
        patience = {c: self.distribution(v, f"customers.patience.{c}")
                    for c, v in self.channel_keys(raw.get("patience"), "customers.patience").items()}
        return CustomerMix(
            population=self.integer(raw.get("population"), "customers.population", low=1,
                                    default=defaults.population),
            vip_share=self.number(raw.get("vip_share"), "customers.vip_share", high=1, default=defaults.vip_share),
            languages=self.shares(raw.get("languages"), "customers.languages") or dict(defaults.languages),
            angry_share=self.number(raw.get("angry_share"), "customers.angry_share", high=1,
                                    default=defaults.angry_share),
            urgent_share=self.number(raw.get("urgent_share"), "customers.urgent_share", high=1,
                                     default=defaults.urgent_share),
            patience=patience,
            callback_acceptance=self.number(raw.get("callback_acceptance"), "customers.callback_acceptance",
                                            high=1, default=defaults.callback_acceptance),
            repeat_delay=(self.distribution(raw["repeat_delay"], "customers.repeat_delay")
                          if "repeat_delay" in raw else defaults.repeat_delay),
            channel_switch=self.number(raw.get("channel_switch"), "customers.channel_switch", high=1,
                                       default=defaults.channel_switch),
            bot_resolution=self.number(raw.get("bot_resolution"), "customers.bot_resolution", high=1,
                                       default=defaults.bot_resolution),
        )

    def targets(self, value: object) -> RoutingTargets:
        raw = self.mapping(value, "targets")
        levels: dict[str, tuple[float, float]] = {"phone": (0.8, 20.0), "chat": (0.8, 60.0), "email": (0.9, 14400.0)}
        for channel, spec in self.channel_keys(raw.get("service_level"), "targets.service_level").items():
            entry = self.mapping(spec, f"targets.service_level.{channel}")
            levels[channel] = (
                self.number(entry.get("percent"), f"targets.service_level.{channel}.percent", high=100) / 100,
                self.number(entry.get("seconds"), f"targets.service_level.{channel}.seconds", low=1),
            )
        return RoutingTargets(
            service_level=levels,
            callback_threshold=self.number(raw.get("callback_threshold"), "targets.callback_threshold",
                                           default=60.0),
            overflow_threshold=self.integer(raw.get("overflow_threshold"), "targets.overflow_threshold", low=1,
                                            default=50),
            vip_target_seconds=self.number(raw.get("vip_target_seconds"), "targets.vip_target_seconds",
                                           default=15.0),
            queue_wait_seconds={queue: self.number(seconds, f"targets.queue_wait_seconds.{queue}", low=1)
                                for queue, seconds in self.mapping(raw.get("queue_wait_seconds"),
                                                                   "targets.queue_wait_seconds").items()},
        )

    def cross_check(self, intents: list[Intent], teams: list[AgentTeam], customers: CustomerMix) -> None:
        """Every contact must have somebody who can take it, or the scenario measures nothing."""
        for intent in intents:
            for channel in intent.volume:
                if not any(intent.skill in t.skills and channel in t.channels for t in teams):
                    self.fail(f"intents[{intent.name}]",
                              f"no agent team has skill {intent.skill!r} on channel {channel!r}")
        spoken = {lang for t in teams for lang in t.languages}
        for language in customers.languages:
            if language not in spoken:
                self.fail("customers.languages", f"no agent team speaks {language!r}")
