"""Shared value conversions between the domain and protobuf: channels and timestamps.

Every servicer and event converter uses these, so a channel or an instant reads the same in
every service. Domain code never imports this module (it imports protobuf).
"""

from __future__ import annotations

import datetime as dt

from google.protobuf.duration_pb2 import Duration
from google.protobuf.timestamp_pb2 import Timestamp

from omni.runtime.channels import Channel
from omni.runtime.errors import InvalidArgument
from omnichannel.common.v1 import common_pb2

CHANNELS: dict[Channel, common_pb2.Channel.ValueType] = {
    Channel.PHONE: common_pb2.CHANNEL_PHONE,
    Channel.CHAT: common_pb2.CHANNEL_CHAT,
    Channel.EMAIL: common_pb2.CHANNEL_EMAIL,
    Channel.SMS: common_pb2.CHANNEL_SMS,
}
_CHANNELS_BACK = {number: channel for channel, number in CHANNELS.items()}


def channel_to_proto(channel: Channel | str | None) -> common_pb2.Channel.ValueType:
    """A stored channel name (possibly empty or unknown) as the proto enum; UNSPECIFIED when none."""
    try:
        return CHANNELS[Channel(channel)] if channel else common_pb2.CHANNEL_UNSPECIFIED
    except ValueError:
        return common_pb2.CHANNEL_UNSPECIFIED


def channel_from_proto(number: int) -> Channel | None:
    """None for CHANNEL_UNSPECIFIED or a number this build does not know."""
    return _CHANNELS_BACK.get(number)  # type: ignore[call-overload, no-any-return]


def require_channel(number: int, field: str = "channel") -> Channel:
    channel = channel_from_proto(number)
    if channel is None:
        names = ", ".join(common_pb2.Channel.Name(n) for n in CHANNELS.values())
        raise InvalidArgument(f"{field} must be one of {names} (got {number})")
    return channel


def timestamp(value: dt.datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(value)
    return stamp


def timestamp_or_none(value: dt.datetime | None) -> Timestamp | None:
    return None if value is None else timestamp(value)


def timestamp_from_seconds(value: float) -> Timestamp:
    """An instant given as seconds since the epoch (the routing engine's clock)."""
    stamp = Timestamp()
    stamp.FromNanoseconds(int(value * 1e9))
    return stamp


def to_datetime(stamp: Timestamp) -> dt.datetime:
    return stamp.ToDatetime(tzinfo=dt.UTC)


def duration(seconds: float) -> Duration:
    result = Duration()
    result.FromNanoseconds(int(max(0.0, seconds) * 1e9))
    return result
