"""Character error rate, word error rate and exact-match rate.

CER = (character insertions + deletions + substitutions) / characters in the truth,
summed over the whole set (a long line weighs more than a short one). WER is the
same over words (split on white space). Exact match is the share of lines read
without a single mistake. All three are plain Python and torch-free.
"""

from __future__ import annotations

from collections.abc import Sequence


def edit_distance(truth: Sequence, guess: Sequence) -> int:
    """Levenshtein distance: fewest insertions, deletions and substitutions."""
    if len(truth) < len(guess):
        truth, guess = guess, truth
    previous = list(range(len(guess) + 1))
    for i, t in enumerate(truth, start=1):
        current = [i]
        for j, g in enumerate(guess, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (t != g)))
        previous = current
    return previous[-1]


class TextScores:
    """Running totals over (truth, guess) pairs; ``compute`` returns the rates."""

    def __init__(self) -> None:
        self.char_errors = 0
        self.chars = 0
        self.word_errors = 0
        self.words = 0
        self.exact = 0
        self.lines = 0

    def add(self, truth: str, guess: str) -> None:
        self.char_errors += edit_distance(truth, guess)
        self.chars += len(truth)
        truth_words, guess_words = truth.split(), guess.split()
        self.word_errors += edit_distance(truth_words, guess_words)
        self.words += len(truth_words)
        self.exact += truth == guess
        self.lines += 1

    def add_all(self, truths: Sequence[str], guesses: Sequence[str]) -> None:
        for truth, guess in zip(truths, guesses, strict=True):
            self.add(truth, guess)

    def compute(self) -> dict[str, float]:
        # An empty truth makes any inserted character an error: count it against 1.
        return {
            "cer": self.char_errors / max(self.chars, 1),
            "wer": self.word_errors / max(self.words, 1),
            "exact_match": self.exact / max(self.lines, 1),
        }


def text_scores(truths: Sequence[str], guesses: Sequence[str]) -> dict[str, float]:
    """CER, WER and exact-match rate of ``guesses`` against ``truths``."""
    scores = TextScores()
    scores.add_all(truths, guesses)
    return scores.compute()
