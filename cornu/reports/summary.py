"""`model.summary()`: the layer table Keras prints, built as a string."""

from __future__ import annotations

from collections.abc import Sequence


def _shape(shape) -> str:
    if shape is None:
        return "?"  # not called yet
    if isinstance(shape, list | dict):  # several outputs
        items = shape.values() if isinstance(shape, dict) else shape
        return "[" + ", ".join(_shape(s) for s in items) + "]"
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + \
        ("," if len(shape) == 1 else "") + ")"


def _fit(text: str, width: int) -> str:
    """Text cut to a column (keeping one space before the next), as Keras' table."""
    return text if len(text) < width else text[:max(width - 2, 1)] + "…"


def summary_text(
    model_name: str, rows: Sequence[tuple[str, str, tuple, int]], trainable: int,
    non_trainable: int = 0, line_length: int = 72,
) -> str:
    """rows: (layer name, class name, output shape, parameter count)."""
    widths = (int(line_length * 0.45), int(line_length * 0.33))
    last = line_length - sum(widths)

    def line(a: str, b: str, c: str) -> str:
        return f"{_fit(a, widths[0]):<{widths[0]}}{_fit(b, widths[1]):<{widths[1]}}{c:>{last}}"

    out = [f'Model: "{model_name}"', "_" * line_length,
           line("Layer (type)", "Output Shape", "Param #"), "=" * line_length]
    for i, (name, cls, shape, count) in enumerate(rows):
        out.append(line(f"{name} ({cls})", _shape(shape), f"{count:,}"))
        out.append(("_" if i < len(rows) - 1 else "=") * line_length)
    if not rows:
        out.append("=" * line_length)
    total = trainable + non_trainable
    out += [f"Total params: {total:,}", f"Trainable params: {trainable:,}",
            f"Non-trainable params: {non_trainable:,}", "_" * line_length]
    return "\n".join(out)
