"""JSON in and out, strict: bounded size, no duplicate keys, no NaN, plain types only."""

from __future__ import annotations

import json
from typing import Any

from cornu.saving import limits
from cornu.saving.errors import CornuFileError

__all__ = ["dumps", "loads", "parse"]


def dumps(obj: Any, what: str) -> bytes:
    """UTF-8 JSON of `obj`; refuses values JSON cannot hold exactly (NaN, objects)."""
    try:
        return json.dumps(obj, indent=2, allow_nan=False, ensure_ascii=False).encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise CornuFileError(f"Cannot save: {what} is not JSON-serialisable ({exc}). A layer's "
                             "get_config() must return plain numbers, strings, lists and dicts."
                             ) from exc


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r}")
        out[key] = value
    return out


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")


def parse(data: bytes) -> Any:
    """Strict JSON from UTF-8 bytes; any problem is a ValueError."""
    try:
        return json.loads(data.decode("utf-8"), object_pairs_hook=_unique,
                          parse_constant=_no_constant)
    except RecursionError:
        raise ValueError("nested too deeply") from None


def loads(data: bytes, where: str) -> Any:
    """Parse `data`; `where` names the file and member in errors."""
    if len(data) > limits.MAX_JSON_BYTES:
        raise CornuFileError(f"{where} is {len(data)} bytes, more than the limit of "
                             f"{limits.MAX_JSON_BYTES} (cornu.saving.limits.MAX_JSON_BYTES).")
    try:
        return parse(data)
    except ValueError as exc:
        raise CornuFileError(f"{where} is not valid JSON ({exc}).") from None
