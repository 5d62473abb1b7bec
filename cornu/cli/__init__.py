"""The `cornu` command."""
