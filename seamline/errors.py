"""The one shared base of the errors the command line turns into exit code 2.

Components raise their own typed errors (``seamline.matching.errors``, ``seamline.rules.errors``,
...), subclasses of :class:`InputError` when the user can fix the cause in an input or config file.
Only the command line (``seamline/cli.py`` and the per-component ``cli`` modules) maps errors to
messages and exit codes; no component imports the command line.
"""


class InputError(Exception):
    """A problem the user can fix in an input or configuration file (exit code 2).

    The message must say what is wrong and where (file, key, expected value)."""


class UsageError(InputError):
    """A problem with the command line itself (an option, a combination of options): raised by the
    ``cli`` modules; also the base some components' config errors still derive from."""


class UnavailableError(Exception):
    """A server the command needs cannot be reached or refused it (exit code 1).

    The message is one line saying which server, as whom, and why — never a secret."""
