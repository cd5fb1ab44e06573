"""User-facing errors.

Anything a user can cause (a malformed table, a typo in a config key, a missing dataset)
raises a `PlexusError` subclass with a message that names the file, row, column or key.
The CLI prints these as one paragraph and exits non-zero, without a traceback.
"""


class PlexusError(Exception):
    """An error caused by input the user can fix; the message says how."""


class InputError(PlexusError):
    """A malformed input file or table."""


class ConfigError(PlexusError):
    """An unknown or ill-typed configuration key."""


class DatasetNotFound(PlexusError):
    """A named dataset whose files are in none of the searched places."""
