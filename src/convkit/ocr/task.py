"""OCR: read a line of text from an image (a CRNN trained with CTC loss).

The network ends in a ``ctc_output`` layer: per time step (a band of image
columns) it scores the CTC blank and every symbol of its alphabet. Training
uses CTC loss, which sums over every way of aligning the label to the steps,
so labels need no positions. The alphabet, the reader's input height and how
many input pixels make one step travel in the model file with the task.

Monitor: ``cer`` (character error rate), lower is better.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from convkit.errors import SpecError
from convkit.ocr.alphabet import BLANK, Alphabet
from convkit.tasks.base import Metrics, Task

# The order of the running totals kept in OcrMetrics.totals.
_TOTALS = ("char_errors", "chars", "word_errors", "words", "exact", "lines", "loss_sum")


class OcrMetrics(Metrics):
    """Loss, CER, WER and exact-match rate of greedy readings over one epoch."""

    def __init__(self, task: OcrTask):
        self.task = task
        self.totals = None  # float64 (7,), see _TOTALS; a tensor so Spark can sum it

    def update(self, output, targets, loss) -> None:
        import torch

        from convkit.ocr.decoding import collapse
        from convkit.ocr.text_metrics import TextScores

        best = output.detach().argmax(dim=-1).tolist()  # (N, T) greedy path
        lengths = self.task.step_lengths(targets.widths.cpu(), output.shape[1]).tolist()
        # Each line is read over its own steps only; the rest of the row is padding.
        guesses = [
            self.task.alphabet.decode(collapse(path[:length]))
            for path, length in zip(best, lengths, strict=True)
        ]
        scores = TextScores()
        scores.add_all(targets.texts, guesses)
        batch = [
            scores.char_errors,
            scores.chars,
            scores.word_errors,
            scores.words,
            scores.exact,
            scores.lines,
            float(loss.detach()) * len(targets.texts) if loss is not None else 0.0,
        ]
        values = torch.tensor(batch, dtype=torch.float64, device=output.device)
        self.totals = values if self.totals is None else self.totals + values

    def state_tensors(self) -> list:
        return [self.totals] if self.totals is not None else []

    def compute(self) -> dict[str, float]:
        if self.totals is None:
            return {}
        t = dict(zip(_TOTALS, self.totals.tolist(), strict=True))
        return {
            "loss": t["loss_sum"] / max(t["lines"], 1),
            "cer": t["char_errors"] / max(t["chars"], 1),
            "wer": t["word_errors"] / max(t["words"], 1),
            "exact_match": t["exact"] / max(t["lines"], 1),
        }


class OcrTask(Task):
    kind: ClassVar[str] = "ocr"
    monitor: ClassVar[str] = "cer"
    monitor_mode: ClassVar[str] = "min"
    lower_is_better: ClassVar[tuple[str, ...]] = ("loss", "cer", "wer")

    def __init__(
        self,
        alphabet: str,
        height: int,
        channels: int = 1,
        pixels_per_step: float = 4.0,
        beam: int = 1,
    ):
        self.alphabet = Alphabet(alphabet)
        self.height = int(height)
        self.channels = int(channels)
        self.pixels_per_step = float(pixels_per_step)
        self.beam = int(beam)

    @classmethod
    def for_spec(cls, spec, options: dict | None = None) -> OcrTask:
        options = options or {}
        last = spec.infer()[-1]
        steps = last.output_shape.steps
        return cls(
            alphabet=spec.layers[-1].params["alphabet"],
            height=spec.input.height,
            channels=spec.input.channels,
            # Columns of input per output step, from the nominal width: e.g. 128 / 32 = 4.
            pixels_per_step=spec.input.width / steps,
            beam=int(options.get("beam", 1) or 1),
        )

    # -- training --------------------------------------------------------------------
    def step_lengths(self, widths, steps: int):
        """Output steps that cover each line's true width (the rest is padding)."""
        lengths = (widths.double() / self.pixels_per_step).floor().long()
        return lengths.clamp(min=1, max=steps)

    def loss(self, output, targets):
        import torch.nn.functional as F

        log_probs = output.float().log_softmax(dim=-1).transpose(0, 1)  # (T, N, K)
        input_lengths = self.step_lengths(targets.widths, output.shape[1])
        # zero_infinity: a line that cannot be aligned adds nothing instead of inf/NaN.
        return F.ctc_loss(
            log_probs,
            targets.symbols,
            input_lengths,
            targets.lengths,
            blank=BLANK,
            reduction="mean",
            zero_infinity=True,
        )

    def new_metrics(self) -> OcrMetrics:
        return OcrMetrics(self)

    # -- prediction ---------------------------------------------------------------------
    def prepare_input(self, preprocessing, item):
        """Scale one line to the reader's height; ``info`` keeps its true width for decode."""
        array, _ = super().prepare_input(preprocessing, item)
        return array, {"width": int(array.shape[2])}

    def collate(self, arrays: list):
        """Lines of different widths -> one batch padded to the widest (see ocr.preprocess)."""
        from convkit.ocr.preprocess import pad_batch

        return pad_batch(arrays)[0]  # (N, C, H, W_max)

    def decode(
        self, output, top_k: int = 5, infos: list | None = None, beam: int | None = None
    ) -> list[dict[str, Any]]:
        """[{"text", "confidence"}] per line; ``beam`` > 1 runs the beam search.

        With ``infos`` (from ``prepare_input``) each line is read over the steps
        its own width covers, so padding a batch never changes a reading.
        """
        import torch

        from convkit.ocr.decoding import decode_lines

        self.check_options(beam)
        beam = self.beam if beam is None else int(beam)
        logits = torch.as_tensor(output).detach().float().cpu()  # (N, T, K); numpy from ORT
        if infos is None:
            return decode_lines(logits, self.alphabet, beam=beam)
        widths = torch.tensor([info["width"] for info in infos])
        steps = self.step_lengths(widths, logits.shape[1]).tolist()
        results = []
        for line, length in zip(logits, steps, strict=True):
            results += decode_lines(line[None, :length], self.alphabet, beam=beam)
        return results

    def check_options(self, beam=None) -> None:
        from convkit.errors import UsageError
        from convkit.spec.constraints import Interval, check_value

        if beam is not None:
            check_value("--beam", beam, Interval(int, 1, None), error=UsageError, note="beam width")

    def text_lines(self, path: str, prediction: dict, top_k: int = 1) -> list[str]:
        return [f"{path}\t{prediction['text']}\t{prediction['confidence']:.4f}"]

    spark_type: ClassVar[str] = "struct<text:string, confidence:double, error:string>"

    def spark_row(self, prediction: dict) -> dict:
        return {
            "text": prediction["text"],
            "confidence": float(prediction["confidence"]),
            "error": None,
        }

    def summary_line(self, report: dict) -> str:
        return (
            f"CER {report['cer']:.2%}, WER {report['wer']:.2%}, exact "
            f"{report['exact_match']:.2%} on {report['lines']} lines"
        )

    # -- export --------------------------------------------------------------------------
    def export_input_sizes(self, spec) -> list[tuple[int, int]]:
        """The spec's width and a longer line: the exported reader must take any width."""
        width = spec.input.width
        return [(spec.input.height, width), (spec.input.height, width + 4 * max(width // 8, 1))]

    def dynamic_input_axes(self) -> dict[int, str]:
        return {3: "width"}

    def evaluate(self, model, data, **kwargs) -> dict:
        """CER, WER, exact match and misread lines on ``data`` (for `convkit evaluate`)."""
        from convkit.ocr.evaluation import evaluate_reader

        return evaluate_reader(model, data, **kwargs)

    # -- data -------------------------------------------------------------------------------
    def open_data(self, path: str, split: str = "train", options: dict | None = None):
        """Text lines at ``path``: a folder named by text, a labels table, or a table file.

        ``scan()`` on the result lists the lines this reader cannot learn (they
        are skipped, or stop training with one DataError when strict).
        """
        from convkit.data.packed_layout import has_manifest
        from convkit.ocr.dataset import ReaderLimits, TextLineDataset

        root = Path(path)
        if has_manifest(str(path)):  # `convkit dataset pack --kind ocr`: one split per pack
            from convkit.ocr.packed import PackedTextLineDataset

            dataset = PackedTextLineDataset(str(path), channels=self.channels)
        else:
            if (root / split).is_dir():  # a folder with train/, val/, test/ inside
                root = root / split
            dataset = TextLineDataset.open(root, channels=self.channels)
        dataset.reader = ReaderLimits(self.alphabet, self.height, self.pixels_per_step)
        return dataset

    def make_batches(self, dataset, indices, preprocessing, augment=None, **kwargs):
        """Batches padded to their widest line. ``augment`` is not used for text lines:
        flips and crops would change what the line says (the generator varies lines)."""
        allowed = {"batch_size", "shuffle", "seed", "workers", "cache", "drop_last"}
        # A folder's TextLineBatches, or a pack's stream of this rank's row groups.
        return dataset.make_batches(
            indices, preprocessing, self.alphabet,
            **{k: v for k, v in kwargs.items() if k in allowed},
        )  # fmt: skip

    def default_preprocessing(self, spec, dataset, options: dict | None = None):
        from convkit.ocr.preprocess import TextLinePreprocessing

        if spec.input.channels not in (1, 3):
            raise SpecError(
                f"a text reader takes 1 or 3 channels; the spec's input has {spec.input.channels}"
            )
        return TextLinePreprocessing.for_spec(spec)

    # -- persistence ---------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "alphabet": self.alphabet.symbols,
            "height": self.height,
            "channels": self.channels,
            "pixels_per_step": self.pixels_per_step,
            "beam": self.beam,
        }

    stored_keys: ClassVar[tuple[str, ...]] = (
        "kind",
        "alphabet",
        "height",
        "channels",
        "pixels_per_step",
        "beam",
    )
    required_keys: ClassVar[tuple[str, ...]] = ("alphabet", "height")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OcrTask:
        data = cls.checked_dict(data)
        return cls(
            alphabet=data["alphabet"],
            height=int(data["height"]),
            channels=int(data.get("channels", 1)),
            pixels_per_step=float(data.get("pixels_per_step", 4.0)),
            beam=int(data.get("beam", 1)),
        )
