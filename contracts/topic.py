"""The MQTT topic namespace: ``seamline/v1/<enterprise>/<site>/<area>/<asset>/<kind>``.

ISA-95-like levels. The enterprise comes right after the version so that a broker ACL can confine
a gateway's credentials to ``seamline/v1/<its enterprise>/#`` (and finer, to its own site).

Reserved names start with ``_``: the gateway itself publishes as area ``_gateway`` with its
gateway id as the asset; line-level messages (capacity, allocation, bookings, carbon) use asset ``_line``;
enterprise-level messages (grade) use ``_enterprise`` for site, area and asset. Device and site names
may not start with ``_`` so they can never collide with these.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import Any

ROOT = "seamline"
VERSION = "v1"
GATEWAY_AREA = "_gateway"
LINE_ASSET = "_line"
# Site, area and asset of an enterprise-level message: outside every site, so a gateway's grant on
# ``seamline/v1/<enterprise>/<site>/#`` never covers it.
ENTERPRISE_LEVEL = "_enterprise"
# Long enough for any sensible device tag, short enough that a topic (7 levels) stays far
# below MQTT's 65 535-byte limit and broker ACL patterns stay readable.
MAX_LEVEL_CHARS = 64


# Code points a level may not contain anywhere, as a fixed table (not ``unicodedata``, whose
# answers change with the Python version, so a gateway and ingest on different Pythons would
# disagree): C0/C1 controls (Cc), format characters (Cf, Unicode 14: zero-width and bidi
# controls, soft hyphen, BOM...), line and paragraph separators (Zl, Zp), surrogates (Cs) and
# private use (Co). Unassigned code points are allowed: they are valid UTF-8 and store as such.
FORBIDDEN_RANGES: tuple[tuple[int, int], ...] = (
    (0x0000, 0x001F), (0x007F, 0x009F), (0x00AD, 0x00AD), (0x0600, 0x0605), (0x061C, 0x061C),
    (0x06DD, 0x06DD), (0x070F, 0x070F), (0x0890, 0x0891), (0x08E2, 0x08E2), (0x180E, 0x180E),
    (0x200B, 0x200F), (0x2028, 0x202E), (0x2060, 0x2064), (0x2066, 0x206F), (0xD800, 0xDFFF),
    (0xE000, 0xF8FF), (0xFEFF, 0xFEFF), (0xFFF9, 0xFFFB), (0x110BD, 0x110BD), (0x110CD, 0x110CD),
    (0x13430, 0x13438), (0x1BCA0, 0x1BCA3), (0x1D173, 0x1D17A), (0xE0001, 0xE0001),
    (0xE0020, 0xE007F), (0xF0000, 0xFFFFD), (0x100000, 0x10FFFD),
)
# Characters with a meaning elsewhere: MQTT wildcards and separator, and the backslash, which
# InfluxDB 1.x line protocol cannot carry in a tag in every position (``a\`` and ``a\ b`` have
# no encoding there), so a level with one could be published but never stored as itself.
FORBIDDEN_CHARS = "+#/\\"
# What ``str.strip()`` removes: a level may not begin or end with one of these.
WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)


def _class_item(cp: int) -> str:
    # \uXXXX means the same in Python ``re`` and ECMA-262 regexes; beyond the BMP both read the
    # literal character (ECMA-262 with the ``u`` flag, as JSON Schema 2020-12 recommends).
    return f"\\u{cp:04x}" if cp <= 0xFFFF else chr(cp)


def _char_class(ranges: tuple[tuple[int, int], ...], extra: str = "") -> str:
    items = [_class_item(a) if a == b else f"{_class_item(a)}-{_class_item(b)}" for a, b in ranges]
    return "[" + "".join(items) + "".join(_class_item(ord(c)) for c in extra) + "]"


_FORBIDDEN_CLASS = _char_class(FORBIDDEN_RANGES, FORBIDDEN_CHARS)
_WHITESPACE_CLASS = _char_class(tuple((ord(c), ord(c)) for c in WHITESPACE))
_FORBIDDEN_RE = re.compile(_FORBIDDEN_CLASS)


class TopicError(ValueError):
    """A topic or one of its levels is not valid under the seamline grammar."""


class MessageKind(enum.StrEnum):
    DATA = "data"  # samples (raw from a node, aggregated from an edge agent)
    STATE = "state"  # machine state changes with a reason code
    BIRTH = "birth"  # the assets a gateway serves (published on every connect)
    STATUS = "status"  # gateway online/offline, retained; offline is the Last Will
    CAPACITY = "capacity"  # free standard minutes per line and day, retained
    ALLOCATION = "allocation"  # the orders the latest plan puts on a line, retained (matching)
    BOOKINGS = "bookings"  # standard minutes the latest plan books per line and day, retained (matching)
    GRADE = "grade"  # the per-mu grade of an enterprise for a period, retained (seamline grade)
    CARBON = "carbon"  # green share and kg CO2e per piece of a line over recent days, retained (rules)
    CONFIRM = "confirm"  # seq ranges stored in the database, per asset of a gateway, retained (platform)
    RESEND = "resend"  # seq ranges the platform asks a gateway to republish (platform)
    LOST = "lost"  # seq ranges a gateway no longer has for a resend: definitively lost (gateway)


def validate_level(value: str, *, what: str = "level", allow_reserved: bool = False) -> str:
    """Return ``value`` if it is a valid topic level, else raise :class:`TopicError`.

    Rejects: empty, ``+`` ``#`` ``/`` ``\\`` anywhere, a leading ``$`` (broker-internal topics),
    the code points of :data:`FORBIDDEN_RANGES` (controls, format characters, separators,
    surrogates, private use), more than ``MAX_LEVEL_CHARS`` characters, surrounding whitespace,
    and (unless ``allow_reserved``) a leading ``_``. :func:`level_json_schema` says the same.
    """
    if not isinstance(value, str):
        raise TopicError(f"{what} must be a string, got {type(value).__name__}")
    if value == "":
        raise TopicError(f"{what} is empty")
    if len(value) > MAX_LEVEL_CHARS:
        raise TopicError(f"{what} {value[:20]!r}... is {len(value)} characters, max {MAX_LEVEL_CHARS}")
    for bad in FORBIDDEN_CHARS:
        if bad in value:
            why = " (InfluxDB line protocol cannot store it)" if bad == "\\" else ""
            raise TopicError(f"{what} {value!r} contains {bad!r}{why}")
    if value.startswith("$"):
        raise TopicError(f"{what} {value!r} starts with '$' (reserved for the broker)")
    if value[0] in WHITESPACE or value[-1] in WHITESPACE:
        raise TopicError(f"{what} {value!r} has leading or trailing whitespace")
    found = _FORBIDDEN_RE.search(value)
    if found is not None:
        raise TopicError(f"{what} {value!r} contains control character U+{ord(found.group()):04X}")
    if value.startswith("_") and not allow_reserved:
        raise TopicError(f"{what} {value!r} starts with '_' (reserved for seamline)")
    return value


def level_json_schema() -> dict[str, Any]:
    """JSON Schema of a (non-reserved) level: exactly what :func:`validate_level` accepts.

    Written with ``not``/``pattern`` pairs rather than one anchored pattern because ``$`` also
    matches before a final newline in Python's ``re`` (used by the ``jsonschema`` validator)."""
    return {
        "type": "string",
        "minLength": 1,
        "maxLength": MAX_LEVEL_CHARS,
        "allOf": [
            {"not": {"pattern": _FORBIDDEN_CLASS}},
            {"not": {"pattern": "^[$_]"}},
            {"not": {"pattern": "^" + _WHITESPACE_CLASS}},
            {"not": {"pattern": _WHITESPACE_CLASS + "$"}},
        ],
    }


@dataclass(frozen=True, slots=True, kw_only=True)
class Topic:
    """A concrete (wildcard-free) seamline topic. Validates itself on construction."""

    enterprise: str
    site: str
    area: str
    asset: str
    kind: MessageKind

    def __post_init__(self) -> None:
        validate_level(self.enterprise, what="enterprise")
        levels = (self.site, self.area, self.asset)
        if ENTERPRISE_LEVEL in levels and levels != (ENTERPRISE_LEVEL,) * 3:
            raise TopicError(f"{ENTERPRISE_LEVEL!r} must be the site, area and asset of an enterprise-level topic")
        enterprise_level = levels == (ENTERPRISE_LEVEL,) * 3
        validate_level(self.site, what="site", allow_reserved=enterprise_level)
        validate_level(self.area, what="area", allow_reserved=enterprise_level or self.area == GATEWAY_AREA)
        validate_level(self.asset, what="asset", allow_reserved=enterprise_level or self.asset == LINE_ASSET)
        if not isinstance(self.kind, MessageKind):
            try:
                object.__setattr__(self, "kind", MessageKind(self.kind))
            except ValueError as exc:
                raise TopicError(f"unknown message kind {self.kind!r}") from exc

    @classmethod
    def gateway(cls, *, enterprise: str, site: str, gateway_id: str, kind: MessageKind) -> Topic:
        """The topic a gateway publishes its own birth/status/self-telemetry on."""
        return cls(enterprise=enterprise, site=site, area=GATEWAY_AREA, asset=gateway_id, kind=kind)

    @classmethod
    def line(cls, *, enterprise: str, site: str, line: str, kind: MessageKind) -> Topic:
        """A line-level topic (capacity, allocation, bookings): ``<enterprise>/<site>/<line>/_line/<kind>``."""
        return cls(enterprise=enterprise, site=site, area=line, asset=LINE_ASSET, kind=kind)

    @classmethod
    def enterprise_level(cls, *, enterprise: str, kind: MessageKind) -> Topic:
        """An enterprise-level topic (grade): ``<enterprise>/_enterprise/_enterprise/_enterprise/<kind>``."""
        return cls(enterprise=enterprise, site=ENTERPRISE_LEVEL, area=ENTERPRISE_LEVEL, asset=ENTERPRISE_LEVEL,
                   kind=kind)

    @classmethod
    def parse(cls, topic: str) -> Topic:
        """Parse ``seamline/v1/e/s/a/x/kind``; raise :class:`TopicError` on anything else."""
        if not isinstance(topic, str):
            raise TopicError("topic must be a string")
        parts = topic.split("/")
        if len(parts) != 7:
            raise TopicError(f"topic {topic[:200]!r} has {len(parts)} levels, expected 7")
        root, version, enterprise, site, area, asset, kind = parts
        if root != ROOT:
            raise TopicError(f"topic {topic[:200]!r} does not start with {ROOT!r}")
        if version != VERSION:
            raise TopicError(f"unsupported topic version {version!r}, expected {VERSION!r}")
        try:
            mkind = MessageKind(kind)
        except ValueError as exc:
            raise TopicError(f"unknown message kind {kind!r}") from exc
        return cls(enterprise=enterprise, site=site, area=area, asset=asset, kind=mkind)

    @property
    def is_gateway(self) -> bool:
        return self.area == GATEWAY_AREA

    def __str__(self) -> str:
        return f"{ROOT}/{VERSION}/{self.enterprise}/{self.site}/{self.area}/{self.asset}/{self.kind.value}"


def subscription(
    *,
    enterprise: str = "+",
    site: str = "+",
    area: str = "+",
    asset: str = "+",
    kind: MessageKind | str = "+",
) -> str:
    """A subscription filter; each level is a concrete name or ``+``."""
    levels = [enterprise, site, area, asset, str(kind.value if isinstance(kind, MessageKind) else kind)]
    for lv in levels[:4]:
        if lv != "+":
            validate_level(lv, allow_reserved=lv in (GATEWAY_AREA, LINE_ASSET, ENTERPRISE_LEVEL))
    return "/".join([ROOT, VERSION, *levels])


def shared(group: str, topic_filter: str) -> str:
    """An MQTT 5 / Mosquitto shared subscription: ``$share/<group>/<filter>``."""
    validate_level(group, what="share group")
    return f"$share/{group}/{topic_filter}"


def matches(topic_filter: str, topic: str) -> bool:
    """True if the MQTT ``topic_filter`` (with ``+`` / ``#``) matches the concrete ``topic``."""
    if topic_filter.startswith("$share/"):
        topic_filter = topic_filter.split("/", 2)[2] if topic_filter.count("/") >= 2 else ""
    f_parts = topic_filter.split("/")
    t_parts = topic.split("/")
    if topic.startswith("$") and f_parts and f_parts[0] in ("+", "#"):
        return False
    for i, fp in enumerate(f_parts):
        if fp == "#":
            return i == len(f_parts) - 1
        if i >= len(t_parts):
            return False
        if fp != "+" and fp != t_parts[i]:
            return False
    return len(f_parts) == len(t_parts)
