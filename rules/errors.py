"""The errors of ``seamline.rules`` about its inputs; mapped to exit codes only by the CLI."""

from seamline.errors import InputError


class RulesInputError(InputError):
    """A rules input (config, master data) is unreadable or invalid: exit code 2."""


class ConfigError(RulesInputError):
    """Invalid rules configuration; the message names file, key and expectation."""


class MasterDataError(RulesInputError):
    """Invalid master data; the message names file, key and expectation."""
