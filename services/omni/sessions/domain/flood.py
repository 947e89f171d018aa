"""Flood control for customer chat: a public endpoint must not let one visitor bury an agent, the
event bus or the database under frames, nor hold every connection.

Every frame a customer connection sends is counted twice: against its session (messages; typing
and read markers) and against the client address it comes from (every frame, starts and resumes
included). Connections are capped per session, per address and in all. All of it lives in one
replica's memory: with N replicas behind a balancer, a visitor spread over all of them gets up to
N times the limits.
"""

from __future__ import annotations

import collections
import dataclasses
import enum
import ipaddress
import time
from collections.abc import Callable

from omni.runtime.errors import ResourceExhausted


class TokenBucket:
    """Lets `burst` frames through at once, then `rate` per second on average."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError(f"a chat rate limit needs rate > 0 and burst >= 1 (got {rate}, {burst})")
        self._rate = rate
        self._burst = float(burst)
        self._clock = clock
        self._tokens = float(burst)
        self._last = clock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self._burst, self._tokens + (now - self._last) * self._rate)
        self._last = now

    def take(self) -> bool:
        self._refill()
        if self._tokens < 1.0:
            return False
        self._tokens -= 1.0
        return True

    def wait_seconds(self) -> float:
        """How long until the next frame would be let through."""
        return max(0.0, (1.0 - self._tokens) / self._rate)

    @property
    def full(self) -> bool:
        """Refilled to the burst: forgetting it changes nothing."""
        self._refill()
        return self._tokens >= self._burst


class KeyedBuckets:
    """A TokenBucket per key (a session, an address), made on first use. At most `max_keys` are
    kept: beyond, refilled buckets are forgotten first, then the least recently used ones."""

    def __init__(self, rate: float, burst: int, *, max_keys: int = 100_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        TokenBucket(rate, burst, clock)  # refuses a bad setting now, not at the first frame
        self._rate, self._burst, self._clock = rate, burst, clock
        self._max_keys = max_keys
        self._buckets: collections.OrderedDict[str, TokenBucket] = collections.OrderedDict()

    def take(self, key: str) -> float:
        """0 when a frame of `key` may go now; else the seconds until one may."""
        bucket = self._buckets.get(key)
        if bucket is None:
            self._make_room()
            bucket = self._buckets[key] = TokenBucket(self._rate, self._burst, self._clock)
        self._buckets.move_to_end(key)
        return 0.0 if bucket.take() else max(bucket.wait_seconds(), 0.1)

    def _make_room(self) -> None:
        if len(self._buckets) < self._max_keys:
            return
        for key in [k for k, b in self._buckets.items() if b.full]:
            del self._buckets[key]
        while len(self._buckets) >= self._max_keys:
            self._buckets.popitem(last=False)


class FrameKind(enum.Enum):
    # start or resume: opens a conversation (counted per address only: there is no session yet)
    OPEN = "start or resume"
    TEXT = "message"
    # typing and read markers
    SIGNAL = "typing or read"
    END = "end"


@dataclasses.dataclass(frozen=True)
class FloodLimits:
    # Messages per session: a burst, then a rate.
    burst: int = 10
    messages_per_second: float = 1.0
    # Typing and read markers per session.
    signal_burst: int = 10
    signals_per_second: float = 2.0
    # Every frame per client address.
    address_burst: int = 60
    address_frames_per_second: float = 10.0
    # Open connections: in all, to one session, from one address.
    max_connections: int = 2000
    max_connections_per_session: int = 4
    max_connections_per_address: int = 20


@dataclasses.dataclass
class ChatLine:
    """One customer connection: where it comes from ("" when it is a platform service's stream,
    which carries many customers and is held to the per-session limits only) and, once open,
    its session."""

    address: str
    session_id: str = ""


class Flood:
    """The flood rule of one replica: its counters and buckets."""

    def __init__(self, limits: FloodLimits, clock: Callable[[], float] = time.monotonic) -> None:
        self._limits = limits
        self._messages = KeyedBuckets(limits.messages_per_second, limits.burst, clock=clock)
        self._signals = KeyedBuckets(limits.signals_per_second, limits.signal_burst, clock=clock)
        self._addresses = KeyedBuckets(limits.address_frames_per_second, limits.address_burst, clock=clock)
        self._open = 0
        self._per_address: collections.Counter[str] = collections.Counter()
        self._per_session: collections.Counter[str] = collections.Counter()

    def connect(self, address: str) -> ChatLine:
        if self._open >= self._limits.max_connections:
            raise ResourceExhausted("the chat is at capacity right now; try again in a minute")
        if address and self._per_address[address] >= self._limits.max_connections_per_address:
            raise ResourceExhausted(f"too many chat connections from your address "
                                    f"(at most {self._limits.max_connections_per_address}); close one first")
        self._open += 1
        if address:
            self._per_address[address] += 1
        return ChatLine(address)

    def bind(self, line: ChatLine, session_id: str) -> None:
        """The connection has opened `session_id`."""
        if self._per_session[session_id] >= self._limits.max_connections_per_session:
            raise ResourceExhausted(f"this chat is open in {self._per_session[session_id]} places already, the most "
                                    "allowed; close one of them first")
        self._per_session[session_id] += 1
        line.session_id = session_id

    def disconnect(self, line: ChatLine) -> None:
        self._open -= 1
        for counter, key in ((self._per_address, line.address), (self._per_session, line.session_id)):
            if key:
                counter[key] -= 1
                if counter[key] <= 0:
                    del counter[key]

    def check(self, line: ChatLine, kind: FrameKind) -> None:
        """Let one frame through, or refuse it (ResourceExhausted, saying when to try again). The
        address pays for every frame it sends, also for those its session's limit then refuses."""
        if line.address and (wait := self._addresses.take(line.address)):
            raise ResourceExhausted(f"too many frames from your address; this {kind.value} was not taken, "
                                    f"try again in {wait:.1f}s")
        per_session = {FrameKind.TEXT: self._messages, FrameKind.SIGNAL: self._signals}.get(kind)
        if per_session is not None and line.session_id and (wait := per_session.take(line.session_id)):
            what = "messages" if kind is FrameKind.TEXT else "typing and read frames"
            raise ResourceExhausted(f"too many {what}; this one was not sent, send it again in {wait:.1f}s")



class TrustedProxies:
    """Addresses or networks ("10.0.0.0/8") of the proxies in front of the chat."""

    def __init__(self, entries: tuple[str, ...]) -> None:
        self._networks = [ipaddress.ip_network(entry.strip(), strict=False) for entry in entries if entry.strip()]

    def __contains__(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self._networks)


def client_address(peer: str, forwarded_for: list[str], trusted: TrustedProxies) -> str:
    """Where a connection comes from: its peer, unless the peer is a proxy we trust (the web
    gateway, a load balancer) — then the nearest hop in its X-Forwarded-For that is not one of
    ours. Anyone can write that header, so it is believed from trusted proxies only."""
    if peer not in trusted:
        return peer
    hops = [hop.strip() for header in forwarded_for for hop in header.split(",") if hop.strip()]
    return next((hop for hop in reversed(hops) if hop not in trusted), peer)
