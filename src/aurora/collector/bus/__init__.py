"""The collector's event bus (:mod:`.base` is the contract, :mod:`.memory` the in-process one)."""

from aurora.collector.bus.base import Bus, Handler, Subscription
from aurora.collector.bus.memory import MemoryBus
from aurora.collector.bus.messages import (
    AlertRaised,
    BatchCommitted,
    CommandQueued,
    CommandUpdated,
    HostChanged,
    Message,
    MessageDecodeError,
    RulesChanged,
)

__all__ = [
    "AlertRaised",
    "BatchCommitted",
    "Bus",
    "CommandQueued",
    "CommandUpdated",
    "Handler",
    "HostChanged",
    "MemoryBus",
    "Message",
    "MessageDecodeError",
    "RulesChanged",
    "Subscription",
]
