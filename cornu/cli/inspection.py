"""`cornu summary MODEL` and `cornu report RUN_DIR`."""

from __future__ import annotations

import sys
from pathlib import Path


def add_summary_arguments(parser) -> None:
    parser.add_argument("model", type=Path, help="a model file (model.cornu)")


def add_report_arguments(parser) -> None:
    parser.add_argument("run_dir", type=Path, metavar="RUN_DIR",
                        help="a folder written by 'cornu mnist'; without the MNIST test "
                             "set the report keeps the digit pictures it already has")


def summary(args) -> int:
    from cornu.saving import load_model

    model = load_model(args.model, compile=False)
    model.summary()
    return 0


def report(args) -> int:
    from cornu.reports import run_report

    path, notes = run_report.write_report(args.run_dir)
    for note in notes:
        print(f"cornu: note: {note}", file=sys.stderr)
    print(f"Wrote the report to {path}")
    return 0
