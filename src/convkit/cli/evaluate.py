"""`convkit evaluate`: measure a model file on a labelled dataset."""

from __future__ import annotations

from convkit.cli.common import add_verb, print_json

EPILOG = """\
examples:
  convkit evaluate runs/lenet/model.convkit --data ../shared/data/mnist
  convkit evaluate model.convkit --data photos/ --out eval/ --json
"""


EVALUATE_ABOUT = """\
accuracy, per-class precision/recall/F1, confusion matrix

Evaluate MODEL on labelled DATA: accuracy, top-5, per-class precision, recall
and F1, macro and weighted averages, the confusion matrix and the most confused
pairs.
"""


def register(subparsers) -> None:
    parser = add_verb(subparsers, "evaluate", EVALUATE_ABOUT, epilog=EPILOG)
    parser.add_argument("model", help="a .convkit model file")
    parser.add_argument("--data", required=True, help="labelled dataset, as for `convkit train`")
    parser.add_argument(
        "--split",
        default="test",
        help="which split of DATA: test (default; the whole folder when it has no "
        "test split) or train",
    )
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--out", help="folder for confusion.png and report.json")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(handler=run_evaluate)


def run_evaluate(args) -> int:
    import json
    from pathlib import Path

    from convkit import api
    from convkit.classify.class_metrics import format_report
    from convkit.fileio import check_input_path, check_writable_folder

    check_input_path(args.data, "--data")  # paths first: not after minutes of evaluation
    if args.out is not None:
        check_writable_folder(args.out, "--out")
    report = api.evaluate(
        args.model,
        args.data,
        split=args.split,
        batch_size=args.batch_size,
        out_dir=args.out,
        progress=not args.quiet,
    )
    if args.out:
        Path(args.out).mkdir(parents=True, exist_ok=True)
        (Path(args.out) / "report.json").write_text(json.dumps(report, indent=2))
    if args.json:
        print_json(report)
    elif "per_class" in report:
        print(format_report(report))
        if args.out:
            print(f"confusion matrix drawn in {Path(args.out) / 'confusion.png'}")
    else:
        print_json(report)
    return 0
