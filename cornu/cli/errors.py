"""The command line's own error: a problem the user can fix, shown as one line."""


class CliError(Exception):
    """Printed as `cornu: error: <message>`; the command exits with status 1."""
