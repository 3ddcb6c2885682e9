"""Which state changes ingest also writes to ``machine_down`` (pure).

The KPI job's aggregate path (:mod:`seamline.rules.aggregate_source`) needs a down machine's
breakdown reasons: the seconds of each ``down`` and its reason, which only the state events carry.
Read from ``machine_state`` with a condition on ``state``/``previous``, InfluxDB 1.x reads every
event of those machines (~350 per machine-hour, two string fields) to return the few that match:
about a fifth of influxd's time in the hour's job. So ingest writes, beside each such event, a
copy to ``machine_down`` (:data:`seamline.storage.schema.MACHINE_DOWN`), and the job reads that
measurement whole, without a condition.

A change goes there when it may start or end a down: into ``down``, out of ``down``, or from an
unknown state (``previous`` absent: the first change after an edge restart, whose state before may
have been ``down``). Then the last ``machine_down`` event before a time says whether the machine was
down at it — whatever later changes ``machine_state`` holds are neither into nor out of ``down`` —
and a window's ``machine_down`` events give each down's start, end and reason. Derived at every
write from the event itself, so a replay rewrites it with the event.
"""

from __future__ import annotations

from typing import Final

from seamline.contracts.messages import MachineState

DOWN: Final = MachineState.DOWN.value


def down_edge(state: str, previous: str | None) -> bool:
    """Whether a change into ``state`` from ``previous`` (None: unknown) may start or end a down."""
    return state == DOWN or previous is None or previous == DOWN
