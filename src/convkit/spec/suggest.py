"""'Did you mean …?' hints for misspelt names (layer types, parameters, activations)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """Return ``"; did you mean `x`?"`` for the closest choice, or ``""`` if none is close."""
    matches = difflib.get_close_matches(str(word), sorted(choices), n=1, cutoff=0.6)
    return f"; did you mean `{matches[0]}`?" if matches else ""


def unknown_name_message(what: str, word: str, choices: Iterable[str]) -> str:
    """One line: the unknown name, the closest match and every valid one."""
    choices = sorted(choices)
    hint = did_you_mean(word, choices)
    return f"unknown {what} `{word}`{hint} (valid: {', '.join(choices)})"
