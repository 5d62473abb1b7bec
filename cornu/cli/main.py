"""The `cornu` command.

    cornu mnist [--model mlp|cnn] [--epochs N] [--batch-size B] [--optimizer NAME] [--out DIR]
    cornu experiment batch-size [--sizes 1,10,100,1000,10000] [--epochs N] [--out DIR]
    cornu predict MODEL IMAGE...
    cornu summary MODEL
    cornu report RUN_DIR
    cornu convert IN OUT [--format FORMAT] [--force] [--no-compile]

Problems the user can fix (a missing or damaged file, a picture that is not one, no
MNIST, a run folder that is already there) are one line on stderr, `cornu: error: ...`,
and exit status 1; usage errors exit with 2, as argparse does. Remarks are
`cornu: note: ...` lines. Output into a pipe that closes early (`cornu summary M | head`)
ends the command quietly, with the status 141 of a program stopped by SIGPIPE.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from cornu.cli.errors import CliError

__all__ = ["build_parser", "main"]


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive integer. Received: {text!r}"
                                         ) from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer. Received: {text!r}")
    return value


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError("must be a number from 0 up to (not including) 1. "
                                         f"Received: {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    from cornu import __version__
    from cornu.cli import convert, experiment, inspection, predict, train

    parser = argparse.ArgumentParser(
        prog="cornu", description="Train, inspect and use Keras-style models on JAX.")
    parser.add_argument("--version", action="version", version=f"cornu {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    mnist = commands.add_parser(
        "mnist", help="train on MNIST, evaluate, save the model and write a report",
        description="Train on MNIST with progress output, evaluate on the test set, save "
                    "the model (model.cornu) and write the report (report.html and PNGs).")
    train.add_arguments(mnist, _positive_int, _fraction)
    mnist.set_defaults(run=train.run)

    experiment_parser = commands.add_parser(
        "experiment", help="experiments from the lecture, on this machine")
    experiments = experiment_parser.add_subparsers(dest="experiment", metavar="EXPERIMENT",
                                                   required=True)
    batch = experiments.add_parser(
        "batch-size", help="seconds per epoch and test accuracy against the batch size",
        description="Train a fresh lecture net for each batch size; write experiment.md, "
                    "experiment.json and two PNG plots.")
    experiment.add_arguments(batch, _positive_int)
    batch.set_defaults(run=experiment.run)

    predict_parser = commands.add_parser(
        "predict", help="read digits from PNG/JPEG pictures",
        description="Print the digit and its probability for each picture. Pictures may be "
                    "dark ink on white or white on black, any size, anywhere in the frame.")
    predict.add_arguments(predict_parser)
    predict_parser.set_defaults(run=predict.run)

    summary = commands.add_parser("summary", help="print a saved model's layers")
    inspection.add_summary_arguments(summary)
    summary.set_defaults(run=inspection.summary)

    report = commands.add_parser("report", help="rebuild a run folder's report",
                                 description="Rebuild report.html and the PNGs of a folder "
                                             "written by 'cornu mnist'.")
    inspection.add_report_arguments(report)
    report.set_defaults(run=inspection.report)

    convert_parser = commands.add_parser(
        "convert", help="a model file into another format (.keras, .h5, .cornu, exports)",
        description="Read IN (.keras, Keras 2 / legacy .h5 or .cornu, recognised by its\n"
                    "contents) and write OUT in the format its name gives.")
    convert.add_arguments(convert_parser)
    convert_parser.set_defaults(run=convert.run)
    return parser


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        where = f"{exc.filename}: " if exc.filename else ""
        return f"{where}{exc.strerror}"
    return " ".join(str(exc).split()) or type(exc).__name__


def _expected_errors() -> tuple[type[BaseException], ...]:
    from cornu.reports.run_report import RunFolderError
    from cornu.saving import CornuFileError

    errors: list[type[BaseException]] = [CliError, CornuFileError, RunFolderError, OSError]
    try:
        from cornu.data.images import DigitImageError

        errors.append(DigitImageError)
    except ImportError:  # pragma: no cover
        pass
    return tuple(errors)


def _closed_pipe() -> int:
    """stdout's reader went away: send what is left to /dev/null, so that Python's
    final flush does not complain either, and say nothing."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # stdout is not a real file (tests)
        pass
    return 141


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 error, 2 usage)."""
    args = build_parser().parse_args(argv)
    try:
        status = args.run(args)
        sys.stdout.flush()
        return status
    except BrokenPipeError:
        return _closed_pipe()
    except KeyboardInterrupt:
        print("cornu: interrupted", file=sys.stderr)
        return 130
    except ImportError as exc:  # an optional dependency (matplotlib, Pillow) is missing
        print(f"cornu: error: {_one_line(exc)}", file=sys.stderr)
        return 1
    except _expected_errors() as exc:
        print(f"cornu: error: {_one_line(exc)}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
