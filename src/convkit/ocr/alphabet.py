"""The alphabet of a reader: which symbols it can write, and their indices.

CTC needs one extra class, the *blank*, that means "no symbol here". convkit
puts the blank at index 0 and the alphabet's symbols at 1..len(alphabet), so a
``ctc_output`` layer over an alphabet of K symbols has K + 1 outputs.
"""

from __future__ import annotations

from collections.abc import Iterable

from convkit.errors import DataError, SpecError
from convkit.spec.layer_types.sequence import ALPHABET_PRESETS

BLANK = 0

# Named alphabets a user may write instead of spelling every symbol out; the
# spec owns them so that `ctc_output: {alphabet: digits}` validates without us.
PRESETS = ALPHABET_PRESETS


def resolve_alphabet(text: str) -> str:
    """A preset name ("digits", "alnum", …) becomes its symbols; anything else is literal."""
    return PRESETS.get(text, text)


class Alphabet:
    """An ordered set of symbols; ``encode`` maps text to class indices (1-based)."""

    def __init__(self, symbols: str):
        if not isinstance(symbols, str) or not symbols:
            raise SpecError(
                f"an alphabet must be a non-empty string of symbols. Received: {symbols!r}"
            )
        seen: set[str] = set()
        repeated = sorted({s for s in symbols if s in seen or seen.add(s)})
        if repeated:
            raise SpecError(
                f"the alphabet lists {''.join(repeated)!r} more than once; write each symbol once"
            )
        unprintable = [s for s in symbols if not s.isprintable()]
        if unprintable:
            raise SpecError(
                f"the alphabet holds unprintable characters {unprintable!r}; "
                "use printable symbols (a space is fine)"
            )
        self.symbols = symbols
        self._index = {symbol: i + 1 for i, symbol in enumerate(symbols)}

    def __len__(self) -> int:
        return len(self.symbols)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Alphabet) and other.symbols == self.symbols

    def __repr__(self) -> str:
        return f"Alphabet({self.symbols!r})"

    @property
    def num_classes(self) -> int:
        """Outputs per time step: every symbol plus the blank."""
        return len(self.symbols) + 1

    def unknown(self, text: str) -> str:
        """The characters of ``text`` this alphabet cannot write, in first-seen order."""
        return "".join(dict.fromkeys(c for c in text if c not in self._index))

    def encode(self, text: str) -> list[int]:
        missing = self.unknown(text)
        if missing:
            raise DataError(
                f"label {text!r} holds {missing!r}, which the alphabet {self.symbols!r} lacks"
            )
        return [self._index[c] for c in text]

    def decode(self, indices: Iterable[int]) -> str:
        """Class indices -> text; the blank (0) writes nothing."""
        return "".join(self.symbols[i - 1] for i in indices if i != BLANK)


def ctc_min_steps(text: str) -> int:
    """Time steps CTC needs to emit ``text``: one per symbol, plus a blank between repeats.

    "hello" needs 6: h e l <blank> l o — two equal neighbours must be split by a blank,
    otherwise the decoder merges them into one.
    """
    repeats = sum(1 for a, b in zip(text, text[1:], strict=False) if a == b)
    return len(text) + repeats
