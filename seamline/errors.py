"""Errors the command line turns into exit codes."""


class UsageError(Exception):
    """A problem the user can fix in the command line or the config file (exit code 2).

    The message must say what is wrong and where (file, key, expected value)."""


class UnavailableError(Exception):
    """A server the command needs cannot be reached or refused it (exit code 1).

    The message is one line saying which server, as whom, and why — never a secret."""
