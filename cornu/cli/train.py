"""`cornu mnist`: train on MNIST, evaluate, save the model and write the report."""

from __future__ import annotations

import datetime
import sys
import time
from pathlib import Path

from cornu.cli import common, models
from cornu.cli.errors import CliError
from cornu.reports import run_report


def add_arguments(parser, positive_int, fraction) -> None:
    parser.add_argument("--model", choices=models.MODELS, default="mlp",
                        help="mlp: the lecture's 784-500-500-10 net (default); "
                             "cnn: Keras' mnist_convnet")
    parser.add_argument("--epochs", type=positive_int, default=None, metavar="N",
                        help="default: 20 for mlp, 15 for cnn")
    parser.add_argument("--batch-size", type=positive_int, default=None, metavar="B",
                        help="default: 100 for mlp, 128 for cnn")
    parser.add_argument("--optimizer", default="adam", metavar="NAME",
                        help="an optimizer name (default: adam)")
    parser.add_argument("--out", type=Path, default=None, metavar="DIR",
                        help="the run folder (default: a new one under runs/); a folder "
                             "that already holds files is refused unless --force")
    parser.add_argument("--force", action="store_true",
                        help="write into an --out folder that already holds files")
    parser.add_argument("--limit", type=positive_int, default=None, metavar="N",
                        help="train on the first N training samples only")
    parser.add_argument("--validation-split", type=fraction, default=0.1, metavar="F",
                        help="the share of the training samples kept for validation "
                             "(default: 0.1; 0 for none)")
    parser.add_argument("--seed", type=int, default=None, help="for a repeatable run")


def new_run_dir(model: str, root: Path = Path("runs")) -> Path:
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    path = root / f"{stamp}-{model}"
    k = 2
    while path.exists():
        path, k = root / f"{stamp}-{model}-{k}", k + 1
    return path


def run(args) -> int:
    start = time.perf_counter()
    epochs, batch_size = (args.epochs or models.DEFAULTS[args.model][0],
                          args.batch_size or models.DEFAULTS[args.model][1])
    if args.seed is not None:
        from cornu.utils import set_random_seed

        set_random_seed(args.seed)
    model = models.build(args.model, args.optimizer)  # fails early on a bad name
    out = args.out if args.out is not None else new_run_dir(args.model)
    common.check_out_folder(out, args.force)

    (x_train, y_train), (x_test, y_test) = common.load_mnist(args.limit)
    data_seconds = time.perf_counter() - start
    n = len(x_train)
    n_val = n - int(n * (1.0 - args.validation_split)) if args.validation_split else 0
    if args.validation_split and (n_val == 0 or n_val == n):
        raise CliError(f"--validation-split {args.validation_split} of {n:,} samples leaves "
                       f"{'no validation' if n_val == 0 else 'no training'} samples; use more "
                       "samples (--limit) or another split")
    layout = models.input_layout(model)
    model.summary()
    print(f"Training on {n - n_val:,} samples, validating on {n_val:,}, testing on "
          f"{len(x_test):,}: {epochs} epoch{'s' if epochs > 1 else ''} of batch size "
          f"{batch_size} with {args.optimizer}.", flush=True)

    timer = common.EpochTimer()
    tic = time.perf_counter()
    history = model.fit(models.shape_inputs(x_train, layout), common.one_hot(y_train),
                        batch_size=batch_size, epochs=epochs, callbacks=[timer],
                        validation_split=args.validation_split)
    fit_seconds = time.perf_counter() - tic
    xt, yt = models.shape_inputs(x_test, layout), common.one_hot(y_test)
    tic = time.perf_counter()
    test = model.evaluate(xt, yt, batch_size=1000, verbose=0, return_dict=True)
    evaluate_seconds = time.perf_counter() - tic
    tic = time.perf_counter()
    probabilities = model.predict(xt, batch_size=1000, verbose=0)
    predict_seconds = time.perf_counter() - tic
    print(f"Test loss: {test['loss']:.4f} - test accuracy: {test['accuracy']:.4f}")

    out.mkdir(parents=True, exist_ok=True)
    tic = time.perf_counter()
    model.save(out / run_report.MODEL_FILE)
    save_seconds = time.perf_counter() - tic
    scores = run_report.classification_metrics(probabilities, y_test)
    run_info = {"model": args.model, "epochs": epochs, "epochs_run": len(timer.seconds),
                "batch_size": batch_size, "optimizer": args.optimizer,
                "limit": args.limit, "validation_split": args.validation_split,
                "train_samples": n - n_val, "validation_samples": n_val,
                "seed": args.seed,
                "created": datetime.datetime.now().isoformat(timespec="seconds"),
                **common.device_info()}
    timings = {"data_seconds": data_seconds, "fit_seconds": fit_seconds,
               "epoch_seconds": timer.seconds,
               "first_epoch_seconds": timer.seconds[0] if timer.seconds else None,
               "steady_epoch_seconds": common.steady(timer.seconds),
               "evaluate_seconds": evaluate_seconds, "predict_seconds": predict_seconds,
               "save_seconds": save_seconds, "total_seconds": time.perf_counter() - start}
    run_report.write_json(out / run_report.HISTORY_FILE, {
        "format": "cornu.history", "history": history.history, "epoch_seconds": timer.seconds})
    run_report.write_json(out / run_report.METRICS_FILE, {
        "format": "cornu.metrics", "run": run_info,
        "test": {"loss": test["loss"], "accuracy": test["accuracy"], "samples": len(y_test)},
        "confusion_matrix": scores["confusion_matrix"],
        "per_class_accuracy": scores["per_class_accuracy"],
        "worst_misclassified": scores["worst_misclassified"], "timings": timings})
    report, notes = run_report.write_report(out, model=model,
                                            test_images=x_test)
    for note in notes:
        print(f"cornu: note: {note}", file=sys.stderr)
    print(f"Saved the model to {out / run_report.MODEL_FILE}")
    print(f"Wrote the report to {report}")
    return 0
