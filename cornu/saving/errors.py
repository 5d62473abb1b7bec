"""The one error every refusal to write or read a cornu file raises."""

from __future__ import annotations


class CornuFileError(ValueError):
    """A model or weights file cannot be written or read; the message names the file,
    what is wrong, and the fix where there is one. Nothing was changed on disk or on
    the model when it is raised."""
