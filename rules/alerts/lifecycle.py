"""An alert's lifecycle as a pure state machine: inactive -> pending -> firing -> resolved.

:func:`step` takes the state, the condition's verdict at ``now`` and the rule's timing, and returns
the next state and what to tell Alertmanager:

* inactive / resolved + BREACH -> pending (``since`` = now); firing at once when ``for_s`` is 0;
* pending + BREACH or HOLD -> firing once ``now - since >= for_s`` (action FIRE, ``fired_at`` =
  now, Alertmanager's ``startsAt``); pending + CLEAR -> inactive (no notification ever);
* firing + BREACH or HOLD -> firing (REFRESH: re-sent); firing + CLEAR -> still firing until the
  condition has stayed clear for ``keep_firing_for_s`` (a flap inside it is one alert), then
  resolved (RESOLVE, ``resolved_at`` = now: Alertmanager's ``endsAt``);
* NO_DATA changes nothing: a gap neither fires a pending alert nor resolves a firing one, and
  the time spent in a gap does not count as clear.

FIRE happens once per episode; every FIRE is followed by at most one RESOLVE before the next FIRE
(property-tested in tests/unit/rules/alerts/test_alerts_lifecycle.py).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from seamline.rules.alerts.model import Verdict


class Phase(enum.StrEnum):
    INACTIVE = "inactive"
    PENDING = "pending"
    FIRING = "firing"
    RESOLVED = "resolved"


class Action(enum.StrEnum):
    NONE = "none"
    FIRE = "fire"  # a new firing alert: post it (startsAt = fired_at)
    REFRESH = "refresh"  # still firing: keep posting it
    RESOLVE = "resolve"  # post it with endsAt = resolved_at


@dataclass(frozen=True, slots=True)
class Timing:
    for_s: float = 0.0
    keep_firing_for_s: float = 0.0

    def __post_init__(self) -> None:
        if self.for_s < 0 or self.keep_firing_for_s < 0:
            raise ValueError("for and keep_firing_for must be >= 0")


@dataclass(frozen=True, slots=True)
class AlertState:
    phase: Phase = Phase.INACTIVE
    since: datetime | None = None  # the condition began (pending from)
    fired_at: datetime | None = None  # firing from (startsAt)
    cleared_at: datetime | None = None  # firing, but the condition clear since
    resolved_at: datetime | None = None  # endsAt of the last episode


INACTIVE = AlertState()


def step(state: AlertState, verdict: Verdict, now: datetime, timing: Timing) -> tuple[AlertState, Action]:
    """The next state and the action (module docstring)."""
    if verdict is Verdict.NO_DATA:
        return state, Action.REFRESH if state.phase is Phase.FIRING else Action.NONE
    if state.phase in (Phase.INACTIVE, Phase.RESOLVED):
        if verdict is not Verdict.BREACH:
            return state, Action.NONE
        return _pending(state, now, timing)
    if state.phase is Phase.PENDING:
        if verdict is Verdict.CLEAR:
            return AlertState(resolved_at=state.resolved_at), Action.NONE
        return _pending(state, now, timing)
    return _firing(state, verdict, now, timing)


def _pending(state: AlertState, now: datetime, timing: Timing) -> tuple[AlertState, Action]:
    since = state.since if state.phase is Phase.PENDING and state.since is not None else now
    if now - since >= timedelta(seconds=timing.for_s):
        return AlertState(Phase.FIRING, since=since, fired_at=now), Action.FIRE
    return AlertState(Phase.PENDING, since=since, resolved_at=state.resolved_at), Action.NONE


def _firing(state: AlertState, verdict: Verdict, now: datetime, timing: Timing) -> tuple[AlertState, Action]:
    if verdict is not Verdict.CLEAR:
        return replace(state, cleared_at=None), Action.REFRESH
    cleared = state.cleared_at or now
    if now - cleared >= timedelta(seconds=timing.keep_firing_for_s):
        return replace(state, phase=Phase.RESOLVED, cleared_at=cleared, resolved_at=now), Action.RESOLVE
    return replace(state, cleared_at=cleared), Action.REFRESH
