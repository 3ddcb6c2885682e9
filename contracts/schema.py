"""JSON Schema export of every message kind (device, gateway and platform messages), for
third-party firmware and platform authors. A unit test keeps ``SCHEMAS`` equal to ``MessageKind``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, TypeAdapter

from seamline.contracts.carbon import CarbonMessage
from seamline.contracts.grades import GradeMessage
from seamline.contracts.messages import (
    AllocationMessage,
    BirthMessage,
    BookingsMessage,
    CapacityMessage,
    DataMessage,
    GatewayStatusMessage,
    StateChangeMessage,
)
from seamline.contracts.plan_summary import PlanSummary
from seamline.contracts.repair import ConfirmMessage, LostMessage, ResendMessage
from seamline.contracts.topic import MessageKind

SCHEMAS: dict[MessageKind, Any] = {
    MessageKind.DATA: DataMessage,
    MessageKind.STATE: StateChangeMessage,
    MessageKind.BIRTH: BirthMessage,
    MessageKind.STATUS: GatewayStatusMessage,
    MessageKind.CAPACITY: CapacityMessage,
    MessageKind.ALLOCATION: AllocationMessage,
    MessageKind.BOOKINGS: BookingsMessage,
    MessageKind.GRADE: GradeMessage,
    MessageKind.CARBON: CarbonMessage,
    MessageKind.CONFIRM: ConfirmMessage,
    MessageKind.RESEND: ResendMessage,
    MessageKind.LOST: LostMessage,
}


# Documents exchanged as files rather than on a topic, by file name stem.
FILE_SCHEMAS: dict[str, type[BaseModel]] = {
    "plan_summary": PlanSummary,
}


def schema_of(kind: MessageKind) -> dict[str, Any]:
    model = SCHEMAS[kind]
    schema: dict[str, Any]
    if isinstance(model, type) and issubclass(model, BaseModel):
        schema = model.model_json_schema()
    else:
        schema = TypeAdapter(model).json_schema()
    schema["$id"] = f"https://seamline.dev/schema/v1/{kind.value}.json"
    schema.setdefault("title", f"seamline v1 {kind.value} message")
    return schema


def write_schemas(directory: Path) -> list[Path]:
    """Write ``<kind>.schema.json`` for each message kind into ``directory``; return the paths."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for kind in SCHEMAS:
        path = directory / f"{kind.value}.schema.json"
        path.write_text(json.dumps(schema_of(kind), indent=2, sort_keys=True) + "\n")
        written.append(path)
    return written


def write_file_schemas(directory: Path) -> list[Path]:
    """Write ``<name>.schema.json`` for each file document (:data:`FILE_SCHEMAS`); return the paths."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, model in FILE_SCHEMAS.items():
        schema = model.model_json_schema()
        schema["$id"] = f"https://seamline.dev/schema/v1/{name}.json"
        path = directory / f"{name}.schema.json"
        path.write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n")
        written.append(path)
    return written
