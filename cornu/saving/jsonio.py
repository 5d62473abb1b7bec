"""JSON in and out, strict: bounded size and depth, no duplicate keys, no NaN, plain types
only. What `dumps` writes, `loads` reads back: it refuses what the reader would."""

from __future__ import annotations

import json
from typing import Any

from cornu.saving import limits
from cornu.saving.errors import CornuFileError

__all__ = ["depth_within", "dumps", "loads", "parse"]


def depth_within(value: Any, limit: int) -> bool:
    """Whether the lists and dicts of `value` nest at most `limit` deep (`[]` is 1 deep).
    Level by level, without recursion: any depth is measured without a RecursionError."""
    level = [value] if isinstance(value, dict | list) else []
    for _ in range(limit):
        if not level:
            return True
        level = [item for node in level
                 for item in (node.values() if isinstance(node, dict) else node)
                 if isinstance(item, dict | list)]
    return not level


def dumps(obj: Any, what: str) -> bytes:
    """UTF-8 JSON of `obj`; refuses values JSON cannot hold exactly (NaN, objects), and
    nesting deeper than `loads` accepts."""
    problem = None
    if not depth_within(obj, limits.MAX_JSON_DEPTH):
        problem = (f"it nests lists and dicts more than {limits.MAX_JSON_DEPTH} deep "
                   "(cornu.saving.limits.MAX_JSON_DEPTH)")
    else:
        try:
            return json.dumps(obj, indent=2, allow_nan=False, ensure_ascii=False
                              ).encode("utf-8")
        except (TypeError, ValueError) as exc:
            problem = str(exc)
    raise CornuFileError(f"Cannot save: {what} is not JSON-serialisable ({problem}). A layer's "
                         "get_config() must return plain numbers, strings, lists and dicts.")


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r}")
        out[key] = value
    return out


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")


def parse(data: bytes | bytearray) -> Any:
    """Strict JSON from UTF-8 bytes, nested at most limits.MAX_JSON_DEPTH deep; any
    problem is a ValueError (never a RecursionError, so the caller's code that walks the
    result recursively cannot hit one either)."""
    try:
        value = json.loads(data.decode("utf-8"), object_pairs_hook=_unique,
                           parse_constant=_no_constant)
    except RecursionError:
        value = None
    else:
        if depth_within(value, limits.MAX_JSON_DEPTH):
            return value
    raise ValueError(f"nested more than {limits.MAX_JSON_DEPTH} deep "
                     "(cornu.saving.limits.MAX_JSON_DEPTH)")


def loads(data: bytes | bytearray, where: str) -> Any:
    """Parse `data`; `where` names the file and member in errors."""
    if len(data) > limits.MAX_JSON_BYTES:
        raise CornuFileError(f"{where} is {len(data)} bytes, more than the limit of "
                             f"{limits.MAX_JSON_BYTES} (cornu.saving.limits.MAX_JSON_BYTES).")
    try:
        return parse(data)
    except ValueError as exc:
        raise CornuFileError(f"{where} is not valid JSON ({exc}).") from None
