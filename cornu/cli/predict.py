"""`cornu predict MODEL IMAGE...`: read digits from pictures, print each one's guess."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from cornu.cli import models
from cornu.cli.errors import CliError


def add_arguments(parser) -> None:
    parser.add_argument("model", type=Path, help="a model file (model.cornu)")
    parser.add_argument("images", type=Path, nargs="+", metavar="IMAGE",
                        help="PNG or JPEG pictures, one digit each")


def read_image(path: Path) -> np.ndarray:
    """The picture as a prepared (28, 28) digit; a CliError saying what is wrong."""
    try:
        from PIL import UnidentifiedImageError

        from cornu.data.images import DigitImageError, load_digit
    except ImportError:
        raise CliError("cornu predict needs Pillow to read pictures, which is not "
                       "installed; install it with: pip install pillow") from None
    try:
        return load_digit(path)
    except FileNotFoundError:
        raise CliError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise CliError(f"{path}: is a folder, not a picture") from None
    except UnidentifiedImageError:
        raise CliError(f"{path}: not a picture that cornu can read (use PNG or JPEG)") from None
    except DigitImageError as exc:
        raise CliError(f"{path}: {exc}") from None
    except (OSError, ValueError, SyntaxError) as exc:  # truncated or damaged files
        raise CliError(f"{path}: cannot read the picture ({_reason(exc)})") from None


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return " ".join(str(exc).split()) or type(exc).__name__


def probabilities(model, outputs: np.ndarray) -> np.ndarray:
    """The model's outputs as probabilities: as they are when they already are (a softmax
    output), else through a softmax (a model that outputs logits)."""
    outputs = np.asarray(outputs, dtype=np.float64)
    if (outputs >= 0).all() and np.allclose(outputs.sum(axis=1), 1.0, atol=1e-3):
        return outputs
    shifted = np.exp(outputs - outputs.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def run(args) -> int:
    from cornu.saving import load_model

    model = load_model(args.model, compile=False)
    layout = models.input_layout(model)
    digits, failed = [], 0
    for path in args.images:
        try:
            digits.append((path, read_image(path)))
        except CliError as exc:
            print(f"cornu: error: {exc}", file=sys.stderr)
            failed += 1
    if digits:
        batch = np.stack([digit for _, digit in digits]).astype(np.float32)
        probs = probabilities(model, model.predict(models.shape_inputs(batch, layout),
                                                   verbose=0))
        for (path, _), p in zip(digits, probs, strict=True):
            best = int(p.argmax())
            print(f"{path}: {best} (probability {p[best]:.4f})")
    return 1 if failed else 0
