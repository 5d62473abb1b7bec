"""`cornu experiment batch-size`: the lecture's mini-batch figures, on this machine.

For each batch size: a fresh lecture net from the same seed, `--epochs` epochs on the
training set, every epoch timed, then the test accuracy; each batch size's training
shows its progress. Writes experiment.html (one self-contained page, like a run's
report), experiment.md, experiment.json, time_vs_batch_size.png and
accuracy_vs_batch_size.png.
"""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

from cornu.cli import common, models
from cornu.reports import html, numbers, plots, run_report

DEFAULT_SIZES = (1, 10, 100, 1000, 10000)
#: the lecture's (2016) seconds per epoch on the full 60,000 samples
LECTURE_SECONDS = {1: 166.0, 10: 17.0}
JSON_FILE, MARKDOWN_FILE, HTML_FILE = "experiment.json", "experiment.md", "experiment.html"
TIME_PNG, ACCURACY_PNG = "time_vs_batch_size.png", "accuracy_vs_batch_size.png"


def sizes_list(text: str) -> list[int]:
    """'1,10,100' -> [1, 10, 100]; raises ValueError (argparse shows it) otherwise."""
    try:
        sizes = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ValueError(f"must be positive integers separated by commas, e.g. "
                         f"1,10,100. Received: {text!r}") from None
    if not sizes or min(sizes) < 1:
        raise ValueError(f"must be positive integers separated by commas, e.g. "
                         f"1,10,100. Received: {text!r}")
    return sorted(set(sizes))


def add_arguments(parser, positive_int) -> None:
    def sizes_type(text: str) -> list[int]:
        import argparse

        try:
            return sizes_list(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    parser.add_argument("--sizes", type=sizes_type, default=list(DEFAULT_SIZES), metavar="LIST",
                        help="batch sizes, comma-separated (default: 1,10,100,1000,10000)")
    parser.add_argument("--epochs", type=positive_int, default=1, metavar="N",
                        help="epochs per batch size (default: 1; with 2 or more the later "
                             "epochs are timed apart from the first, which compiles)")
    parser.add_argument("--limit", type=positive_int, default=None, metavar="N",
                        help="train on the first N samples (times are then scaled to 60,000)")
    parser.add_argument("--optimizer", default="adam", metavar="NAME",
                        help="default: adam, as the lecture")
    parser.add_argument("--seed", type=int, default=0, help="the same for every batch size")
    parser.add_argument("--out", type=Path, default=None, metavar="DIR",
                        help="the folder (default: a new one under runs/); a folder that "
                             "already holds files is refused unless --force")
    parser.add_argument("--force", action="store_true",
                        help="write into an --out folder that already holds files")


def run(args) -> int:
    from cornu.utils import clear_session, set_random_seed

    models.build("mlp", args.optimizer)  # a bad optimizer name fails before the data loads
    out = args.out
    if out is None:
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
        out = Path("runs") / f"{stamp}-batch-size"
    common.check_out_folder(out, args.force)
    (x_train, y_train), (x_test, y_test) = common.load_mnist(args.limit)
    n = len(x_train)
    scale = common.TRAIN_SAMPLES / n if n != common.TRAIN_SAMPLES else 1.0
    x_train, y_train = x_train.reshape(n, 784), common.one_hot(y_train)
    x_test, y_test = x_test.reshape(len(x_test), 784), common.one_hot(y_test)
    print(f"Batch-size experiment: the lecture's net, {args.epochs} epoch"
          f"{'s' if args.epochs > 1 else ''} on {n:,} training samples per batch size"
          + (f" (seconds scaled to {common.TRAIN_SAMPLES:,} samples)" if scale != 1 else "")
          + ".", flush=True)

    results = []
    for k, size in enumerate(args.sizes):
        clear_session()
        set_random_seed(args.seed)
        model = models.build("mlp", args.optimizer)
        timer = common.EpochTimer()
        steps = -(-n // size)
        print(f"\nBatch size {size:,} ({k + 1} of {len(args.sizes)}): {steps:,} steps per "
              "epoch", flush=True)
        model.fit(x_train, y_train, batch_size=size, epochs=args.epochs, verbose=1,
                  callbacks=[timer])
        test = model.evaluate(x_test, y_test, batch_size=1000, verbose=0, return_dict=True)
        later = common.steady(timer.seconds)
        row = {
            "batch_size": size, "steps_per_epoch": steps, "epoch_seconds": timer.seconds,
            "first_epoch_seconds": timer.seconds[0] * scale,
            "steady_epoch_seconds": None if later is None else later * scale,
            "test_accuracy": test["accuracy"], "test_loss": test["loss"],
        }
        results.append(row)
        print(f"Batch size {size:,}: {_seconds(row['first_epoch_seconds'])} s first epoch"
              + ("" if later is None else f", {_seconds(row['steady_epoch_seconds'])} s later")
              + f", test accuracy {numbers.ratio(test['accuracy'])}", flush=True)

    out.mkdir(parents=True, exist_ok=True)
    summary = {
        "format": "cornu.experiment.batch_size", "epochs": args.epochs, "train_samples": n,
        "limited": n != common.TRAIN_SAMPLES,
        "seconds_scaled_to": common.TRAIN_SAMPLES if scale != 1 else None,
        "optimizer": args.optimizer, "seed": args.seed,
        "created": datetime.datetime.now().isoformat(timespec="seconds"),
        **common.device_info(),
        "lecture_seconds_per_epoch": {str(k): v for k, v in LECTURE_SECONDS.items()},
        "results": results,
    }
    run_report.write_json(out / JSON_FILE, summary)
    (out / MARKDOWN_FILE).write_text(markdown(summary), encoding="utf-8")
    sizes = [r["batch_size"] for r in results]
    ylabel = "seconds per epoch" + ("\n(scaled to 60,000 samples)" if scale != 1 else "")
    figures = {
        TIME_PNG: plots.draw_time_vs_batch_size(
            sizes, [r["first_epoch_seconds"] for r in results],
            [r["steady_epoch_seconds"] for r in results], LECTURE_SECONDS, ylabel),
        ACCURACY_PNG: plots.draw_accuracy_vs_batch_size(
            sizes, [r["test_accuracy"] for r in results], args.epochs),
    }
    pngs = {name: plots.png_bytes(figure) for name, figure in figures.items()}
    for name, png in pngs.items():
        (out / name).write_bytes(png)
    page = out / HTML_FILE
    partial = page.with_name(page.name + ".partial")
    partial.write_text(html_page(summary, pngs, out), encoding="utf-8")
    partial.replace(page)
    print()
    print(markdown(summary))
    print(f"Wrote the report to {page} (the table also in {MARKDOWN_FILE} and "
          f"{JSON_FILE}, the figures in {TIME_PNG} and {ACCURACY_PNG}, beside it)")
    return 0


def _seconds(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.3g}" if value < 10 else f"{value:.1f}"


def _setup(summary: dict) -> str:
    epochs, n = summary["epochs"], summary["train_samples"]
    return (f"The lecture's 784-500-500-10 sigmoid net with {summary['optimizer']}, "
            f"{epochs} epoch{'s' if epochs > 1 else ''} per batch size on {n:,} MNIST training "
            f"samples, the same seed ({summary['seed']}) for each; test accuracy on the "
            f"10,000 test samples. Device: {summary['device']}, {summary['cpu_count']} CPU "
            f"cores, jax {summary['jax_version']}.")


def _table(summary: dict) -> tuple[list[str], list[list[str]]]:
    """The experiment's table: (header, rows of cells)."""
    steady = summary["epochs"] > 1
    header = ["batch size", "steps/epoch", "s/epoch, first (incl. compile)"]
    if steady:
        header.append("s/epoch, later")
    header += ["test accuracy", "lecture (2016) s/epoch"]
    lecture = {int(k): v for k, v in summary["lecture_seconds_per_epoch"].items()}
    rows = []
    for row in summary["results"]:
        cells = [f"{row['batch_size']:,}", f"{row['steps_per_epoch']:,}",
                 _seconds(row["first_epoch_seconds"])]
        if steady:
            cells.append(_seconds(row["steady_epoch_seconds"]))
        cells += [numbers.ratio(row["test_accuracy"]), _seconds(lecture.get(row["batch_size"]))]
        rows.append(cells)
    return header, rows


def _notes(summary: dict) -> list[str]:
    n = summary["train_samples"]
    notes = []
    if summary.get("seconds_scaled_to"):
        notes.append(f"Seconds are scaled to {summary['seconds_scaled_to']:,} samples per "
                     f"epoch (measured on {n:,}).")
    notes.append("The first epoch includes compiling the training program (or reading it "
                 "from the compilation cache)"
                 + (", the later ones do not." if summary["epochs"] > 1 else
                    "; run with --epochs 2 or more to time the later epochs apart."))
    return notes


def markdown(summary: dict) -> str:
    """The experiment's table, with what it measured said above it."""
    lines = ["# Mini-batch size: time per epoch and test accuracy", "", _setup(summary), ""]
    for note in _notes(summary):
        lines += [note, ""]
    header, rows = _table(summary)
    lines += ["| " + " | ".join(header) + " |", "|" + "|".join("---:" for _ in header) + "|"]
    lines += ["| " + " | ".join(cells) + " |" for cells in rows]
    return "\n".join(lines) + "\n"


def html_page(summary: dict, pngs: dict[str, bytes], out: Path) -> str:
    """experiment.html: the setup, the table and the two figures in one page, drawn as a
    run's report is (self-contained, readable at phone width)."""
    header, rows = _table(summary)
    figures = [html.image(pngs[name], alt, plots.display_width(pngs[name]))
               for name, alt in ((TIME_PNG, "seconds per epoch against the batch size"),
                                 (ACCURACY_PNG, "test accuracy against the batch size"))]
    setup: list[list[Any]] = [
        ["epochs per batch size", f"{summary['epochs']:,}"],
        ["training samples", f"{summary['train_samples']:,}"],
        ["optimizer", summary["optimizer"]], ["seed", summary["seed"]],
        ["device", summary["device"]], ["CPU cores", summary["cpu_count"]],
        ["jax", summary["jax_version"]], ["created", summary["created"]],
    ]
    sections = [
        html.section("results", "Results", html.paragraph(_setup(summary)),
                     html.table(header, rows),
                     *[html.paragraph(note, note=True) for note in _notes(summary)]),
        html.section("figures", "Figures", html.figures(*figures)),
        html.section("setup", "Setup", html.table(["", "value"], setup)),
    ]
    return html.page("Mini-batch size: time per epoch and test accuracy", sections,
                     f"Folder: {run_report.shown_folder(out)}")

