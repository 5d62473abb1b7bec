"""On/off switches read from CORNU_* environment variables, one spelling for all of them."""

from __future__ import annotations

import os

ON = ("1", "true", "on", "yes")
OFF = ("0", "false", "off", "no")


def switch(name: str, default: bool) -> bool:
    """The variable's setting (1/true/on/yes, 0/false/off/no, any case); `default` when it
    is unset or says something else."""
    value = os.environ.get(name, "").strip().lower()
    if value in ON:
        return True
    if value in OFF:
        return False
    return default
