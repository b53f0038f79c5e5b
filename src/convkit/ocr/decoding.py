"""Turn a reader's per-step scores into text: greedy and beam-search CTC decoding.

A reader outputs, for every time step (a column band of the image), scores over
the blank and every symbol. CTC reads a path of one class per step, merges
repeated classes, then drops blanks: ``h h - e l - l l o`` -> "hello".

- greedy: take the best class at every step (fast, nearly always as good).
- beam:   CTC prefix beam search, which sums the probability of every path that
          writes the same text, keeping the ``beam`` most probable texts per step.

The confidence of a reading is P(text | image) under the model: the sum over all
alignments that write that text, computed exactly with the CTC forward algorithm.
It is 1.0 for a sure reading and drops toward 0 when other texts compete.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from convkit.ocr.alphabet import BLANK, Alphabet

NEG_INF = -math.inf


def _log_add(a: float, b: float) -> float:
    if a == NEG_INF:
        return b
    if b == NEG_INF:
        return a
    high, low = (a, b) if a > b else (b, a)
    return high + math.log1p(math.exp(low - high))


def collapse(path: Sequence[int]) -> list[int]:
    """Merge repeats, then drop blanks: [1, 1, 0, 1, 2, 2] -> [1, 1, 2]."""
    out: list[int] = []
    previous = None
    for index in path:
        if index != previous and index != BLANK:
            out.append(index)
        previous = index
    return out


def greedy_decode(log_probs) -> list[list[int]]:
    """Best class per step, collapsed. ``log_probs``: tensor (N, T, K) -> N index lists."""
    best = log_probs.argmax(dim=-1).tolist()  # (N, T)
    return [collapse(path) for path in best]


def beam_decode_one(log_probs, beam: int = 8, prune: float = -12.0) -> list[int]:
    """CTC prefix beam search over one line; ``log_probs`` (T, K) numpy log-softmax."""
    # Each prefix carries two log probabilities: paths ending in a blank, and not.
    beams: dict[tuple[int, ...], tuple[float, float]] = {(): (0.0, NEG_INF)}
    num_classes = log_probs.shape[1]
    keep = min(num_classes, beam + 1)  # classes tried per step, the blank included
    for step in log_probs:
        order = step.argsort()[::-1][:keep]
        candidates = [int(c) for c in order if step[c] > prune] or [int(order[0])]
        following: dict[tuple[int, ...], list[float]] = {}

        def slot(prefix, following=following):
            return following.setdefault(prefix, [NEG_INF, NEG_INF])

        for prefix, (ends_blank, ends_symbol) in beams.items():
            total = _log_add(ends_blank, ends_symbol)
            for c in candidates:
                p = float(step[c])
                if c == BLANK:
                    entry = slot(prefix)
                    entry[0] = _log_add(entry[0], total + p)
                    continue
                extended = prefix + (c,)
                entry = slot(extended)
                if prefix and prefix[-1] == c:
                    # A repeat writes a second symbol only after a blank …
                    entry[1] = _log_add(entry[1], ends_blank + p)
                    # … otherwise it merges into the symbol already written.
                    same = slot(prefix)
                    same[1] = _log_add(same[1], ends_symbol + p)
                else:
                    entry[1] = _log_add(entry[1], total + p)
        ranked = sorted(following.items(), key=lambda kv: -_log_add(*kv[1]))
        beams = {prefix: (pb, pnb) for prefix, (pb, pnb) in ranked[:beam]}
    best = max(beams.items(), key=lambda kv: _log_add(*kv[1]))
    return list(best[0])


def beam_decode(log_probs, beam: int = 8) -> list[list[int]]:
    """Prefix beam search for every line of a (N, T, K) log-softmax tensor."""
    array = log_probs.detach().float().cpu().numpy()
    return [beam_decode_one(line, beam=beam) for line in array]


def text_probability(log_probs, indices: Sequence[Sequence[int]]) -> list[float]:
    """P(text | image) for each line: exp(-CTC loss) of its text. ``log_probs`` (N, T, K)."""
    import torch

    n, steps, _ = log_probs.shape
    flat = [i for line in indices for i in line]
    targets = torch.tensor(flat, dtype=torch.long)
    target_lengths = torch.tensor([len(line) for line in indices], dtype=torch.long)
    input_lengths = torch.full((n,), steps, dtype=torch.long)
    with torch.no_grad():
        nll = torch.nn.functional.ctc_loss(
            log_probs.detach().float().cpu().transpose(0, 1),  # (T, N, K)
            targets,
            input_lengths,
            target_lengths,
            blank=BLANK,
            reduction="none",
        )
    # An impossible text (too few steps for it) has loss inf: probability exp(-inf) = 0.
    probabilities = torch.exp(-nll)
    return [round(float(p), 6) for p in probabilities]


def decode_lines(logits, alphabet: Alphabet, beam: int = 1) -> list[dict]:
    """Raw reader output (N, T, K) -> [{"text", "confidence"}], one per line.

    ``beam`` 1 decodes greedily; larger values run the prefix beam search.
    """
    log_probs = logits.detach().float().cpu().log_softmax(dim=-1)
    indices = greedy_decode(log_probs) if beam <= 1 else beam_decode(log_probs, beam=beam)
    confidences = text_probability(log_probs, indices)
    return [
        {"text": alphabet.decode(line), "confidence": confidence}
        for line, confidence in zip(indices, confidences, strict=True)
    ]
