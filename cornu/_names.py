"""Name lookup shared by losses, metrics, activations, initializers and optimizers.

Names match ignoring case, spaces, hyphens and underscores, so the lecture's
'categorical crossentropy' finds 'categorical_crossentropy'. An unknown name gets an
error that repeats it and lists the close matches.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import TypeVar

T = TypeVar("T")


def normalize(name: str) -> str:
    """'Categorical Cross-entropy' -> 'categoricalcrossentropy'."""
    return "".join(ch for ch in name.lower() if ch not in " -_")


def lookup(kind: str, argument: str, name: object, table: Mapping[str, T]) -> T:
    """Find `name` in `table` (keys are display names, matched after `normalize`).

    `kind` is what the table holds ("loss"), `argument` the parameter the user passed
    it through ("loss"), both used in the error message.
    """
    if not isinstance(name, str):
        raise TypeError(
            f"{argument} must be a string naming a {kind} or a {kind} object. "
            f"Received: {argument}={name!r} (of type {type(name).__name__})"
        )
    index = {normalize(key): value for key, value in table.items()}
    key = normalize(name)
    if key in index:
        return index[key]
    by_norm = {normalize(k): k for k in table}
    close = difflib.get_close_matches(key, list(by_norm), n=3, cutoff=0.6)
    hint = (
        "Did you mean " + " or ".join(repr(by_norm[c]) for c in close) + "? "
        if close
        else ""
    )
    known = ", ".join(sorted({k for k in table if "_" in k or k.islower()}))
    raise ValueError(
        f"Unknown {kind}: {argument}={name!r}. {hint}Known {kind} names: {known}."
    )
