"""What `convkit predict`, `detect` and `ocr` share: runtime flags, one output format, one exit rule.

Output: with ``--json`` one JSON object per input per line, keyed ``path``,
with the prediction's fields (``label``/``probability``/``top``, ``boxes``,
``text``/``confidence``) or ``error``; without, the task's own plain lines.
Exit code: 0 when every input was predicted, 1 when any was skipped (each
skip is reported), 2 for a usage error (raised, printed by convkit.cli).
"""

from __future__ import annotations

import json
import sys
import time

from convkit.errors import UsageError

# One encoder for every line: json.dumps with options builds a new one per call.
_JSON = json.JSONEncoder(ensure_ascii=False)


def add_engine_arguments(parser, batch_size: int) -> None:
    parser.add_argument(
        "--batch-size", type=int, default=batch_size, help="inputs per forward pass"
    )
    parser.add_argument("--device", default="cpu", help="cpu (default), cuda or auto")
    parser.add_argument(
        "--runtime",
        choices=("auto", "onnx", "torch"),
        default="auto",
        help="auto (default): ONNX Runtime when the model exports, else torch",
    )
    parser.add_argument("--json", action="store_true", help="one JSON object per input per line")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def show_progress(args) -> bool:
    """A progress bar (img/s) on an interactive stderr, unless --quiet or --json."""
    return not (args.quiet or args.json) and sys.stderr.isatty()


def check_batch_size(batch_size: int) -> None:
    if batch_size < 1:
        raise UsageError(f"`--batch-size` must be at least 1. Received: --batch-size {batch_size}")


def open_for(args, kind: str | None = None, verb: str = "predict"):
    """The model of ``args.model`` on the asked device and runtime (of ``kind`` if given)."""
    from convkit.api import load

    check_batch_size(args.batch_size)
    model = load(args.model, device=args.device, runtime=args.runtime)
    if kind is not None and model.kind != kind:
        raise UsageError(
            f"{args.model} is a {model.kind} model; `convkit {verb}` needs a {kind} model. "
            "Use `convkit predict` for it"
        )
    return model


def print_stream(model, stream, as_json: bool, top_k: int = 1, on_result=None) -> int:
    """Print each ``(path, prediction, error)``; the exit code of the rule above."""
    failures = 0
    out = _Output(sys.stdout)
    try:
        for path, prediction, error in stream:
            if error is not None:
                failures += 1
                if as_json:
                    out.write(json.dumps({"path": str(path), "error": error}))
                else:
                    where = error if str(path) in error else f"{path}: {error}"
                    out.flush()  # keep stdout and stderr in input order on a terminal
                    print(f"convkit: skipped {where}", file=sys.stderr, flush=True)
                continue
            if on_result is not None:
                on_result(path, prediction)
            if as_json:
                out.write(_JSON.encode({"path": str(path), **prediction}))
            else:
                out.write("\n".join(model.task.text_lines(str(path), prediction, top_k)))
    finally:
        out.flush()
    return 1 if failures else 0


class _Output:
    """Lines to stdout, flushed at least every ``interval`` seconds.

    A flush per line was a system call per image (a tenth of `predict`'s time
    on small images); a reader at the other end of a pipe still sees results
    within a fraction of a second.
    """

    def __init__(self, stream, interval: float = 0.2):
        self.stream = stream
        self.interval = interval
        self.last = time.monotonic()

    def write(self, line: str) -> None:
        self.stream.write(line + "\n")
        now = time.monotonic()
        if now - self.last >= self.interval:
            self.flush()

    def flush(self) -> None:
        self.stream.flush()
        self.last = time.monotonic()
