"""`convkit train`: fit a network spec on a dataset and write a run folder."""

from __future__ import annotations

from convkit.cli.common import add_verb, parse_key_values, print_json
from convkit.data.suffixes import AUDIO_SUFFIXES, describe

DESCRIPTION = f"""\
Train a network declared in SPEC (YAML/JSON, or a zoo name such as lenet or resnet18,
whose output layer is then sized for DATA's classes) on DATA. The network's last layer
says what it is for (output -> classify, yolo_output -> detect, ctc_output ->
read text), and DATA is read accordingly:

  MNIST-style IDX files      a folder with the four *-idx*-ubyte(.gz) files
  a folder of class folders  photos/cat/*.jpg, photos/dog/*.jpg  (train/ and test/ inside are used as splits)
  a CSV of path,label        labels.csv
  recordings                 a folder of {describe(AUDIO_SUFFIXES)} (spectrogram input)
  mnist                      MNIST from your cache (~/.cache/convkit/mnist), downloaded if missing
  sklearn-digits             the 8x8 digits that ship with scikit-learn (offline)

Without --data, MNIST from your cache is used if present, otherwise scikit-learn's digits.

Each run writes RUN_DIR (default runs/<name>-<time>/): model.convkit, metrics.csv/json,
curves.png, confusion.png, samples.png, skipped.txt, config.yaml, split.json (which
examples trained and which validated) and checkpoints/.
"""

EPILOG = """\
examples:
  convkit train examples/lenet.yaml --data ../shared/data/mnist --epochs 3
  convkit train lenet --data sklearn-digits --epochs 3          a zoo network, offline data
  convkit train examples/lenet.yaml --data photos/ --augment flip,crop=4,rotate=10 --patience 3
  convkit train examples/lenet.yaml --data ../shared/data/mnist --run-dir runs/a --resume
"""


def register(subparsers) -> None:
    parser = add_verb(
        subparsers, "train", "train a network on a dataset", description=DESCRIPTION, epilog=EPILOG
    )
    parser.add_argument(
        "spec", help="network spec, YAML or JSON (e.g. examples/lenet.yaml), or a zoo name"
    )
    data = parser.add_argument_group("data")
    data.add_argument("--data", help="dataset (see above); default: cached MNIST or sklearn-digits")
    data.add_argument(
        "--val-data", help="separate validation set (default: hold out --val-fraction)"
    )
    data.add_argument(
        "--val-fraction",
        type=float,
        default=0.05,
        help="share of the training data held out, stratified (default 0.05)",
    )
    data.add_argument(
        "--strict-data",
        action="store_true",
        help="stop on unreadable files instead of skipping and listing them",
    )
    data.add_argument(
        "--augment",
        metavar="LIST",
        help="augmentations, e.g. 'flip,crop=4,rotation=10,scale=0.1,brightness=0.2,contrast=0.2'",
    )
    data.add_argument(
        "--anchors",
        choices=["auto", "spec"],
        help="detection: auto = k-means on IoU over the training boxes (default when the "
        "spec says `anchors: auto`), spec = the spec's list",
    )
    data.add_argument("--mosaic", type=float, metavar="P", help="detection: 4-image mosaic share")
    data.add_argument("--hsv", metavar="H,S,V", help="detection: colour gains, e.g. 0.015,0.7,0.4")
    data.add_argument(
        "--resize",
        choices=["stretch", "letterbox", "center_crop"],
        default="stretch",
        help="how images are fitted to the spec's input size (default stretch)",
    )
    data.add_argument(
        "--label-pattern",
        metavar="PATTERN",
        help="labels from file names, e.g. '{label}_{speaker}_{index}.wav'",
    )
    data.add_argument(
        "--test-where",
        metavar="EXPR",
        help="which files form the test split, e.g. 'index<5' (recordings)",
    )
    data.add_argument(
        "--data-option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="any other option of the data source (repeatable)",
    )
    optim = parser.add_argument_group("optimisation")
    optim.add_argument("--epochs", type=int, default=10)
    optim.add_argument("--batch-size", type=int, default=64)
    optim.add_argument("--optimizer", default="adam", choices=["sgd", "adam", "adamw", "rmsprop"])
    optim.add_argument("--lr", type=float, default=1e-3, help="learning rate (default 1e-3)")
    optim.add_argument("--momentum", type=float, default=0.9, help="SGD/RMSprop momentum")
    optim.add_argument("--nesterov", action="store_true", help="Nesterov momentum (SGD)")
    optim.add_argument("--weight-decay", type=float, default=0.0)
    optim.add_argument(
        "--schedule",
        default="cosine",
        choices=["none", "step", "cosine", "onecycle"],
        help="learning-rate schedule (default cosine: anneal to 0 over the run)",
    )
    optim.add_argument("--step-epochs", type=int, default=10, help="step schedule period")
    optim.add_argument("--step-gamma", type=float, default=0.1, help="step schedule factor")
    optim.add_argument("--label-smoothing", type=float, default=0.0)
    optim.add_argument("--clip-grad", type=float, help="clip the gradient norm to this value")
    optim.add_argument(
        "--balance-classes", action="store_true", help="weight the loss by inverse class frequency"
    )
    optim.add_argument("--patience", type=int, help="stop after N epochs without improvement")
    optim.add_argument("--monitor", help="validation metric to watch (default: the task's)")
    run = parser.add_argument_group("run")
    run.add_argument("--run-dir", help="where the run's files go (default runs/<name>-<time>)")
    run.add_argument(
        "--resume",
        action="store_true",
        help="continue the run in --run-dir from its last checkpoint",
    )
    run.add_argument(
        "--overwrite",
        action="store_true",
        help="replace the run already in --run-dir (its model, checkpoints, metrics, plots)",
    )
    run.add_argument(
        "--checkpoint-every",
        type=int,
        default=0,
        metavar="STEPS",
        help="also checkpoint every N steps (default: at epoch ends)",
    )
    run.add_argument("--seed", type=int, default=0)
    run.add_argument("--device", default="auto", help="auto (CUDA if present), cpu, cuda, cuda:1")
    run.add_argument(
        "--workers",
        type=int,
        help="data loader processes (default: cores - 1); with --spark, training processes",
    )
    run.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    run.add_argument(
        "--deterministic",
        action="store_true",
        help="bit-for-bit repeatable runs (slower kernels where needed)",
    )
    run.add_argument(
        "--no-amp",
        action="store_true",
        help="train in float32 throughout (default: bfloat16/float16 mixed precision on GPUs "
        "and on CPUs with native bf16, i.e. AVX512-BF16 or AMX)",
    )
    run.add_argument(
        "--init-from",
        metavar="MODEL",
        help="start from the matching layers of a model file, or of a zoo name's imported "
        "weights (e.g. resnet18, after `convkit weights pull resnet18`); the output layer is "
        "sized for the data's classes and the pretrained preprocessing is kept",
    )
    run.add_argument(
        "--freeze-epochs",
        type=int,
        default=0,
        help="with --init-from: keep the copied layers (and their batch-norm statistics) frozen "
        "for N epochs",
    )
    run.add_argument(
        "--backbone-lr-scale",
        type=float,
        default=1.0,
        metavar="S",
        help="with --init-from: the copied layers learn at lr x S once unfrozen (e.g. 0.1)",
    )
    run.add_argument("--json", action="store_true", help="print the final report as JSON")
    run.add_argument("--quiet", action="store_true", help="no progress bars or tables")
    from convkit.cli.spark_options import add_train_arguments, spark_fit  # no pyspark import

    add_train_arguments(parser)
    parser.set_defaults(handler=run_train, spark_fit=spark_fit)


def data_options(args) -> dict:
    options = {"resize": args.resize}
    if args.label_pattern:
        options["label_pattern"] = args.label_pattern
    if args.test_where:
        options["test_where"] = args.test_where
    for key in ("anchors", "mosaic", "hsv"):  # detection only (convkit.detect)
        if getattr(args, key, None) is not None:
            options[key] = getattr(args, key)
    for item in args.data_option:
        options.update(parse_key_values(item, "--data-option"))
    return options


def run_train(args) -> int:
    from convkit import api
    from convkit.train import TrainConfig

    progress = not args.quiet
    config = TrainConfig(
        epochs=args.epochs,
        batch_size=args.batch_size,
        optimizer=args.optimizer,
        lr=args.lr,
        momentum=args.momentum,
        nesterov=args.nesterov,
        weight_decay=args.weight_decay,
        schedule=args.schedule,
        step_epochs=args.step_epochs,
        step_gamma=args.step_gamma,
        label_smoothing=args.label_smoothing,
        clip_grad=args.clip_grad,
        patience=args.patience,
        monitor=args.monitor,
        seed=args.seed,
        device=args.device,
        amp=False if args.no_amp else None,
        deterministic=args.deterministic,
        workers=args.workers,
        threads=args.threads,
        checkpoint_every=args.checkpoint_every,
        backbone_lr_scale=args.backbone_lr_scale,
        val_fraction=args.val_fraction,
        strict_data=args.strict_data,
        balance_classes=args.balance_classes,
        freeze_epochs=args.freeze_epochs,
    )
    if args.backbone_lr_scale != 1.0 and not args.init_from:
        from convkit.errors import UsageError

        raise UsageError("--backbone-lr-scale needs --init-from: the backbone is the copied layers")
    if args.resume and not args.run_dir:
        from convkit.errors import UsageError

        raise UsageError("--resume needs --run-dir: the folder of the run to continue")
    from convkit.names import resolve_data, resolve_spec

    resolve_spec(args.spec)  # a file or a zoo name; fails before data or the run folder is touched
    from convkit.fileio import check_input_path
    from convkit.train.run_folder import guard_run_folder

    if args.data is not None:
        check_input_path(args.data, "--data")
    if args.val_data is not None:
        check_input_path(args.val_data, "--val-data")
    if args.run_dir is not None:  # also for --spark; clears the old run with --overwrite
        guard_run_folder(args.run_dir, resume=args.resume, overwrite=args.overwrite)
    data = resolve_data(args.data, progress)
    fit = args.spark_fit(args) if args.spark else api.fit  # --spark: convkit.spark
    report = fit(
        args.spec,  # the name, not the spec read above: a zoo network is sized for the data
        data,
        config=config,
        run_dir=args.run_dir,
        val_data=args.val_data,
        options=data_options(args),
        augment=args.augment,
        init_from=args.init_from,
        resume=args.resume,
        progress=progress,
    )
    if args.json:
        print_json(
            {
                "run_dir": str(report.run_dir),
                "model": str(report.model_path),
                "best": report.best,
                "test": _test_summary(report.test),
                "history": report.history,
                "skipped": report.skipped,
            }
        )
        return 0
    print(f"model:   {report.model_path}")
    pictures = [
        name
        for name in ("metrics.csv", "curves.png", "confusion.png", "samples.png")
        if (report.run_dir / name).exists()
    ]
    print(f"run:     {report.run_dir} ({', '.join(pictures)})")
    if report.best:
        print(
            f"best:    {report.best['metric']} {report.best['value']:.4f} at epoch {report.best['epoch']}"
        )
    if report.test:
        print(f"test:    {report.test_line}")  # in the task's own terms
    if report.skipped:
        print(f"skipped: {len(report.skipped)} files (listed in {report.run_dir / 'skipped.txt'})")
    return 0


# The headline numbers of each task's evaluation report, in the order they are shown.
TEST_SUMMARY_KEYS = (
    "examples",
    "accuracy",
    "top5",
    "macro",
    "weighted",  # classification
    "images",
    "map50",
    "map",
    "precision",
    "recall",  # detection
    "lines",
    "cer",
    "wer",
    "exact_match",  # OCR
)


def _test_summary(test: dict | None):
    if not test:
        return None
    return {key: test[key] for key in TEST_SUMMARY_KEYS if key in test}
