"""The one wire contract of seamline: MQTT topics and payload models, versioned.

Every component imports its topics and payloads from here; nothing else defines wire formats.
"""

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
    CommandMessage,
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
    "CommandMessage",
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
