"""Parameter constraints declared as data, and the one validator that reads them.

Each layer type lists, per parameter, the constraints a value may satisfy
(scikit-learn's ``_param_validation`` style)::

    "filters": Param([Interval(int, 1, None)])
    "padding": Param([IntTuple(Interval(int, 0, None), lengths=(2, 4)), Options({"same"})], default=0)

``validate_params`` checks a raw dict against them, fills in defaults, and turns
a violation into one Keras-style line: "`stride` must be a positive integer or a
list [height, width] of them. Received: stride=0".

The same machinery checks every settings object outside the spec too
(preprocessing, augmentation, the tasks' options): ``check_value`` /
``check_values`` give a violation that one line, with the object's name in
front, and ``check_keys`` refuses a settings dict with a key nobody reads
("unknown key `epoch` in the training settings; did you mean `epochs`?").
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from convkit.errors import SpecError
from convkit.spec.document import QUOTE_CHARS, short_repr
from convkit.spec.suggest import did_you_mean

REQUIRED = object()  # marks a parameter without a default


class Constraint(ABC):
    @abstractmethod
    def accepts(self, value: Any) -> bool:
        """Implemented by every subclass."""

    def normalise(self, value: Any) -> Any:
        """The canonical form of an accepted value (e.g. 5 -> (5, 5) for a pair)."""
        return value

    @abstractmethod
    def describe(self) -> str:
        """Implemented by every subclass."""


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@dataclass(frozen=True)
class Interval(Constraint):
    """A finite number of ``kind`` (int or float) in [low, high]; ``None`` leaves a side open.

    NaN and infinities are never accepted: no setting means "infinitely many",
    and NaN compares false with every bound, so it would slip through them.
    """

    kind: type
    low: float | None = None
    high: float | None = None
    closed: str = "both"  # "both", "left", "right" or "neither"

    def accepts(self, value: Any) -> bool:
        if self.kind is int and not _is_int(value):
            return False
        if self.kind is float and not (_is_number(value) and math.isfinite(value)):
            return False
        left_closed = self.closed in ("both", "left")
        right_closed = self.closed in ("both", "right")
        if self.low is not None and (value < self.low or (value == self.low and not left_closed)):
            return False
        if self.high is not None and (
            value > self.high or (value == self.high and not right_closed)
        ):
            return False
        return True

    def normalise(self, value: Any) -> Any:
        return float(value) if self.kind is float else value

    def describe(self) -> str:
        noun = "integer" if self.kind is int else "number"
        article = "an" if noun == "integer" else "a"
        left_closed = self.closed in ("both", "left")
        if self.high is None and self.low is not None:
            if (
                self.low == 0
                and not left_closed
                or self.low == 1
                and self.kind is int
                and left_closed
            ):
                return f"a positive {noun}"
            if self.low == 0:
                return f"a non-negative {noun}"
            return f"{article} {noun} {'>=' if left_closed else '>'} {self.low}"
        if self.low is None and self.high is None:
            return f"{article} {noun}"
        left = "[" if left_closed else "("
        right = "]" if self.closed in ("both", "right") else ")"
        low = "-inf" if self.low is None else self.low
        high = "inf" if self.high is None else self.high
        return f"{article} {noun} in {left}{low}, {high}{right}"


@dataclass(frozen=True)
class IntTuple(Constraint):
    """An int, or a list of ints, each satisfying ``element``; normalised to a tuple.

    ``lengths=(2,)`` is a pair (height, width): 5 -> (5, 5). ``lengths=(2, 4)``
    also takes [top, bottom, left, right]: 1 -> (1, 1, 1, 1), [1, 2] -> (1, 1, 2, 2).
    """

    element: Interval
    lengths: tuple[int, ...] = (2,)

    def accepts(self, value: Any) -> bool:
        if self.element.accepts(value):
            return True
        if isinstance(value, list | tuple) and len(value) in self.lengths:
            return all(self.element.accepts(item) for item in value)
        return False

    def normalise(self, value: Any) -> tuple[int, ...]:
        if not isinstance(value, list | tuple):
            value = [value]
        target = max(self.lengths)
        if len(value) == 1:
            return tuple(value) * target
        if len(value) == 2 and target == 4:  # [height, width] -> [top, bottom, left, right]
            return (value[0], value[0], value[1], value[1])
        return tuple(value)

    def describe(self) -> str:
        each = self.element.describe()
        shapes = {2: "[height, width]", 4: "[top, bottom, left, right]"}
        forms = " or ".join(shapes[n] for n in self.lengths if n in shapes)
        return f"{each} or a list {forms} of them"


@dataclass(frozen=True)
class Options(Constraint):
    """One of a fixed set of strings (or of integers: ``Options({1, 3})`` for channels)."""

    values: frozenset = field(default_factory=frozenset)

    def __init__(self, values: Iterable[str | int]):
        object.__setattr__(self, "values", frozenset(values))

    def accepts(self, value: Any) -> bool:
        if isinstance(value, str):
            return value in self.values
        # 1.0 == 1 and True == 1 in Python: only a real integer is an integer option.
        return _is_int(value) and value in self.values

    def describe(self) -> str:
        strings = sorted(v for v in self.values if isinstance(v, str))
        numbers = sorted(v for v in self.values if not isinstance(v, str))
        return "one of " + ", ".join([*map(str, numbers), *(f"'{v}'" for v in strings)])


@dataclass(frozen=True)
class PerItem(Constraint):
    """A list (or tuple) whose every item satisfies ``element``: one per ``noun`` (channel…)."""

    element: Constraint
    noun: str = "item"

    def accepts(self, value: Any) -> bool:
        return isinstance(value, list | tuple) and all(self.element.accepts(v) for v in value)

    def normalise(self, value: Any) -> tuple:
        return tuple(self.element.normalise(v) for v in value)

    def describe(self) -> str:
        return f"{self.element.describe()} for each {self.noun}"


@dataclass(frozen=True)
class Boolean(Constraint):
    def accepts(self, value: Any) -> bool:
        return isinstance(value, bool)

    def describe(self) -> str:
        return "true or false"


@dataclass(frozen=True)
class Param:
    """One parameter of a layer type: what values it takes, its default, what it means."""

    constraints: tuple[Constraint, ...]
    default: Any = REQUIRED
    doc: str = ""

    def __init__(self, constraints: Iterable[Constraint], default: Any = REQUIRED, doc: str = ""):
        object.__setattr__(self, "constraints", tuple(constraints))
        object.__setattr__(self, "default", default)
        object.__setattr__(self, "doc", doc)

    def describe(self) -> str:
        return " or ".join(c.describe() for c in self.constraints)


def _received(key: str, value: Any) -> str:
    shown = f"'{value}'" if isinstance(value, str) else short_repr(value)
    if isinstance(value, bool):
        shown = "true" if value else "false"
    elif value is None:
        shown = "null"
    elif isinstance(value, list | tuple):
        shown = "[" + ", ".join(str(v) for v in value[:10]) + (", …]" if len(value) > 10 else "]")
    if len(shown) > QUOTE_CHARS:
        shown = shown[:QUOTE_CHARS] + "…"
    return f"Received: {key}={shown}"


def violation(key: str, value: Any, param: Param, note: str = "") -> str:
    """The one message template: "`key` must be <allowed>[ (note)]. Received: key=value"."""
    hint = ""
    options = [c for c in param.constraints if isinstance(c, Options)]
    if isinstance(value, str) and options:
        hint = did_you_mean(value, {v for o in options for v in o.values if isinstance(v, str)})
    allowed = param.describe() + (f" ({note})" if note else "")
    return f"`{key}` must be {allowed}. {_received(key, value)}{hint}"


def _unknown_key(noun: str, key: Any, where: str, allowed: Iterable[str]) -> str:
    allowed = list(allowed)
    shown = str(key)[:QUOTE_CHARS]
    valid = ", ".join(allowed) or "none"
    return f"unknown {noun} `{shown}` {where}{did_you_mean(key, allowed)} (valid: {valid})"


def validate_params(type_name: str, params: Mapping[str, Param], raw: Mapping[str, Any]) -> dict:
    """Check ``raw`` against ``params``; return the canonical dict with defaults filled in.

    Raises ``SpecError`` with a one-line message (without the layer's location:
    the caller, who knows it, puts that in front).
    """
    for key in raw:
        if key not in params:
            raise SpecError(_unknown_key("parameter", key, f"for {type_name}", params))
    result = {}
    for key, param in params.items():
        if key not in raw or (raw[key] is None and param.default is None):
            if param.default is REQUIRED:
                raise SpecError(f"`{key}` is required for {type_name}: {param.describe()}")
            result[key] = param.default
            continue
        result[key] = check_value(key, raw[key], param, note="")  # layer messages carry no doc
    return result


# -- settings objects outside the spec ---------------------------------------------------------


def check_value(
    key: str,
    value: Any,
    param: Param | Constraint,
    what: str = "",
    error: type[Exception] = SpecError,
    note: str | None = None,
) -> Any:
    """``value`` normalised by the first constraint of ``param`` that accepts it.

    Otherwise raises ``error`` with the one template, ``what`` (the settings'
    name) in front: "image preprocessing: `crop` must be a number in (0, 1].
    Received: crop=0". ``note`` (default: the Param's ``doc``) says in words
    where a bound comes from, e.g. "the FFT bins of a 25 ms window".
    """
    if isinstance(param, Constraint):
        param = Param([param])
    if value is None and param.default is None:  # "not set" (e.g. f_max: up to Nyquist)
        return None
    for constraint in param.constraints:
        if constraint.accepts(value):
            return constraint.normalise(value)
    message = violation(key, value, param, param.doc if note is None else note)
    raise error(f"{what}: {message}" if what else message)


def check_values(
    what: str,
    params: Mapping[str, Param],
    values: Mapping[str, Any],
    error: type[Exception] = SpecError,
) -> dict[str, Any]:
    """``check_value`` for each declared key present in ``values``; the normalised values."""
    return {
        key: check_value(key, values[key], param, what, error)
        for key, param in params.items()
        if key in values
    }


def check_keys(
    data: Any,
    allowed: Iterable[str],
    what: str,
    error: type[Exception] = SpecError,
    required: Iterable[str] = (),
    legacy: Iterable[str] = (),
) -> dict[str, Any]:
    """A settings dict (``from_dict``'s input) whose keys are all ``allowed``, as a new dict.

    Raises ``error`` with one line for a dict that is not a mapping, that holds
    a key outside ``allowed`` ("unknown key `epoch` in the training settings;
    did you mean `epochs`? (valid: …)") or that lacks a ``required`` one.
    ``legacy`` names keys that older convkit versions wrote and no version
    reads any more: they are accepted and dropped, so old files still load.
    """
    if not isinstance(data, Mapping):
        raise error(f"{what} must be a mapping of settings, not {type(data).__name__}")
    allowed = list(allowed)
    legacy = set(legacy)
    for key in data:
        if key not in allowed and key not in legacy:
            raise error(_unknown_key("key", key, f"in {what}", allowed))
    for key in required:
        if key not in data:
            raise error(f"missing key `{key}` in {what} (valid: {', '.join(allowed)})")
    return {key: value for key, value in data.items() if key not in legacy}
