"""Refuse capacity no real line can have, whoever published it (issue 12): the broker's ACL lets
only the rules service write capacity, but a compromised or buggy publisher — or a message
injected past the broker — must not win orders with invented minutes.

A capacity message is implausible when its efficiency is outside (0, 1.2] (a sewing line above
120 % of standard time is a wrong standard or a wrong count; 0 means it cannot produce at all),
or when any day offers more free standard minutes than its operators could earn working around
the clock (operators × 1 440 calendar minutes: a bound that needs no shift calendar). Pure: the
caller prints and counts the reasons."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from seamline.contracts.messages import CapacityMessage

log = logging.getLogger(__name__)

# Highest believable rolling line efficiency (fraction of standard time); see the module docstring.
MAX_EFFICIENCY = 1.2
# Minutes in a calendar day: the most any operator can work in one day.
CALENDAR_MIN_PER_DAY = 24 * 60


@dataclass(frozen=True, slots=True)
class Screened:
    accepted: list[CapacityMessage]
    refused: list[str]  # one reason per refused message, naming its line


def implausibility(msg: CapacityMessage) -> str | None:
    """Why ``msg`` cannot be real, or None when it is plausible."""
    if not 0 < msg.efficiency <= MAX_EFFICIENCY:
        return f"efficiency {msg.efficiency:g} outside (0, {MAX_EFFICIENCY:g}]"
    bound = msg.operators * CALENDAR_MIN_PER_DAY
    for day in msg.days:
        if day.free_std_min > bound:
            return (f"{day.day}: {day.free_std_min:g} free standard minutes exceed {msg.operators} operators "
                    f"× {CALENDAR_MIN_PER_DAY} calendar minutes = {bound:g}")
    return None


def screen(messages: Iterable[CapacityMessage]) -> Screened:
    """Split ``messages`` into plausible ones and reasons for the rest (the caller shows each
    reason; the count is logged as one warning)."""
    accepted: list[CapacityMessage] = []
    refused: list[str] = []
    for msg in messages:
        why = implausibility(msg)
        if why is None:
            accepted.append(msg)
            continue
        refused.append(f"{msg.enterprise}/{msg.site}/{msg.line}: implausible capacity ignored: {why}")
    if refused:
        log.warning("%d of %d capacity messages refused as implausible", len(refused), len(refused) + len(accepted))
    return Screened(accepted, refused)
