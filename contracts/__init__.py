"""The one wire contract of seamline: MQTT topics and payload models, versioned.

Every component imports its topics and payloads from here; nothing else defines wire formats.

The names below are imported lazily (on first attribute access): importing one submodule, e.g.
``seamline.contracts.topic`` or ``seamline.contracts.kinds``, does not load every pydantic model
(the edge agent's runtime imports no pydantic at all).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from seamline.contracts.assets import AssetKind, MetricSpec, metric_specs
    from seamline.contracts.carbon import CarbonDay, CarbonMessage
    from seamline.contracts.grades import GradeMessage
    from seamline.contracts.messages import (
        MAX_PAYLOAD_BYTES,
        SCHEMA_VERSION,
        AllocationEntry,
        AllocationMessage,
        AssetInfo,
        BirthMessage,
        BookedDay,
        BookingsMessage,
        CapacityDay,
        CapacityMessage,
        DataMessage,
        GatewayState,
        GatewayStatusMessage,
        MachineState,
        Quality,
        Sample,
        StateChangeMessage,
        parse_data,
    )
    from seamline.contracts.topic import MessageKind, Topic, TopicError

_SOURCES: dict[str, str] = {
    "MAX_PAYLOAD_BYTES": "seamline.contracts.messages",
    "SCHEMA_VERSION": "seamline.contracts.messages",
    "AllocationEntry": "seamline.contracts.messages",
    "AllocationMessage": "seamline.contracts.messages",
    "AssetInfo": "seamline.contracts.messages",
    "AssetKind": "seamline.contracts.assets",
    "BirthMessage": "seamline.contracts.messages",
    "BookedDay": "seamline.contracts.messages",
    "BookingsMessage": "seamline.contracts.messages",
    "CapacityDay": "seamline.contracts.messages",
    "CapacityMessage": "seamline.contracts.messages",
    "CarbonDay": "seamline.contracts.carbon",
    "CarbonMessage": "seamline.contracts.carbon",
    "DataMessage": "seamline.contracts.messages",
    "GatewayState": "seamline.contracts.messages",
    "GatewayStatusMessage": "seamline.contracts.messages",
    "GradeMessage": "seamline.contracts.grades",
    "MachineState": "seamline.contracts.messages",
    "MessageKind": "seamline.contracts.topic",
    "MetricSpec": "seamline.contracts.assets",
    "Quality": "seamline.contracts.messages",
    "Sample": "seamline.contracts.messages",
    "StateChangeMessage": "seamline.contracts.messages",
    "Topic": "seamline.contracts.topic",
    "TopicError": "seamline.contracts.topic",
    "metric_specs": "seamline.contracts.assets",
    "parse_data": "seamline.contracts.messages",
}

__all__ = [
    "MAX_PAYLOAD_BYTES",
    "SCHEMA_VERSION",
    "AllocationEntry",
    "AllocationMessage",
    "AssetInfo",
    "AssetKind",
    "BirthMessage",
    "BookedDay",
    "BookingsMessage",
    "CapacityDay",
    "CapacityMessage",
    "CarbonDay",
    "CarbonMessage",
    "DataMessage",
    "GatewayState",
    "GatewayStatusMessage",
    "GradeMessage",
    "MachineState",
    "MessageKind",
    "MetricSpec",
    "Quality",
    "Sample",
    "StateChangeMessage",
    "Topic",
    "TopicError",
    "metric_specs",
    "parse_data",
]


def __getattr__(name: str) -> Any:
    source = _SOURCES.get(name)
    if source is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(source), name)
