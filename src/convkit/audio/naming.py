"""Labels and splits from file names: ``{label}_{speaker}_{index}.wav`` and ``index<5``.

A label pattern is a file name with named ``{fields}``; ``{label}`` is the
class. A split condition (``test_where``) compares those fields with a value:
``index<5``, ``speaker==theo``, or several joined by ``and``. Numbers compare
as numbers, everything else as text.
"""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass

from convkit.errors import UsageError

# The Free Spoken Digit Dataset: 7_jackson_32.wav; index 0-4 is its official test set.
FSDD_PATTERN = "{label}_{speaker}_{index}"
FSDD_TEST_WHERE = "index<5"
_FSDD_NAME = re.compile(r"^\d+_[A-Za-z]+_\d+$")

_FIELD = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_OPERATORS = {
    "<=": operator.le,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    ">": operator.gt,
    "=": operator.eq,
}
_CONDITION = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(<=|>=|==|!=|<|>|=)\s*(.+?)\s*$")


def looks_like_fsdd(stems: list[str]) -> bool:
    """True when (nearly) every file is named like the Free Spoken Digit Dataset's."""
    if not stems:
        return False
    matching = sum(1 for stem in stems if _FSDD_NAME.match(stem))
    return matching >= 0.9 * len(stems)


class LabelPattern:
    """Parses fields out of file names with a pattern such as ``{label}_{speaker}_{index}.wav``."""

    def __init__(self, pattern: str) -> None:
        names = _FIELD.findall(pattern)
        if "label" not in names:
            raise UsageError(
                f"label_pattern must contain {{label}}, e.g. '{FSDD_PATTERN}.wav'. "
                f"Received: label_pattern={pattern!r}"
            )
        if len(set(names)) != len(names):
            raise UsageError(f"label_pattern names a field twice. Received: {pattern!r}")
        self.pattern = pattern
        self.fields = names
        # With an extension in the pattern we match whole file names, else stems.
        self.with_extension = "." in _FIELD.sub("", pattern)
        parts, position = [], 0
        for match in _FIELD.finditer(pattern):
            parts.append(re.escape(pattern[position : match.start()]))
            parts.append(f"(?P<{match.group(1)}>.+?)")
            position = match.end()
        parts.append(re.escape(pattern[position:]))
        self._regex = re.compile("^" + "".join(parts) + "$")

    def parse(self, file_name: str, stem: str) -> dict[str, str] | None:
        """The fields of one file, or None when its name does not follow the pattern."""
        match = self._regex.match(file_name if self.with_extension else stem)
        return match.groupdict() if match else None


def _coerce(text: str) -> float | str:
    try:
        return float(text)
    except ValueError:
        return text.strip("'\"")


@dataclass(frozen=True)
class _Condition:
    field: str
    op: str
    value: float | str

    def holds(self, fields: dict[str, str]) -> bool:
        actual = _coerce(fields[self.field])
        expected = self.value
        if isinstance(actual, float) != isinstance(expected, float):
            actual, expected = str(fields[self.field]), str(expected)
        return _OPERATORS[self.op](actual, expected)


class SplitCondition:
    """``test_where`` parsed once: a conjunction of ``field <op> value`` comparisons."""

    def __init__(self, text: str, available_fields: list[str]) -> None:
        self.text = text
        self.conditions: list[_Condition] = []
        for clause in re.split(r"\s+and\s+|,", text):
            match = _CONDITION.match(clause)
            if not match:
                raise UsageError(
                    f"test_where clauses look like 'index<5' or 'speaker==theo'. Received: {clause!r}"
                )
            field, op, value = match.groups()
            if field not in available_fields:
                raise UsageError(
                    f"test_where uses field {field!r}, but file names only give "
                    f"{available_fields}; set label_pattern to name it, e.g. '{FSDD_PATTERN}'"
                )
            self.conditions.append(_Condition(field, op, _coerce(value)))

    def holds(self, fields: dict[str, str]) -> bool:
        return all(condition.holds(fields) for condition in self.conditions)


def natural_sort(labels: set[str]) -> list[str]:
    """Class order: numerically when every label is a number ("2" before "10"), else by text."""
    try:
        return sorted(labels, key=float)
    except ValueError:
        return sorted(labels)
