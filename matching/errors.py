"""The errors of ``seamline.matching``: typed per input, mapped to exit codes only by the CLI.

:class:`MatchingInputError` and its subclasses are :class:`seamline.errors.InputError` (exit 2, the
message names the file or URL and what was expected); ``PublishError``
(``matching.publisher``), ``BrokerUnavailableError`` (``matching.retained``) and ``RecordError``
(``matching.plan_record``) are runtime failures (exit 1).
"""

from seamline.errors import InputError


class MatchingInputError(InputError):
    """An input of ``seamline match`` is unreadable or invalid."""


class OrderBookError(MatchingInputError):
    """The order book file cannot be read or is not a list of orders."""


class ProfilesError(MatchingInputError):
    """The factory profiles file cannot be read or is invalid."""


class CapacityInputError(MatchingInputError):
    """The capacity file or URL cannot be read or holds no capacity messages."""


class BrokerAddressError(MatchingInputError):
    """A broker URL that is not ``mqtt://host:port``."""


class InfluxConfigError(MatchingInputError):
    """The config file given to record plans has no valid ``influx:`` block."""
