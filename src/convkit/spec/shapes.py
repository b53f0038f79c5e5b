"""The kinds of data that flow between layers, written the way the guide writes them.

A ``Volume`` is one image-like example: height x width x channels, printed
``24x24x20``. In PyTorch a batch of volumes is a tensor ``(N, C, H, W)``.
A ``Vector`` is a flat example (after a dense layer), printed ``500``.
A ``Sequence`` is steps x features (e.g. the columns of a text line, for OCR),
printed ``25x128 seq``; as a tensor ``(N, steps, features)``.

Layer types that need another kind subclass ``Shape`` in their own module.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass


class Shape(ABC):
    """Base class of every shape kind: what one example looks like between layers."""

    kind: str = "shape"

    @abstractmethod
    def tensor_shape(self) -> tuple[int, ...]:
        """The shape of one example as a PyTorch tensor, without the batch axis."""

    def numel(self) -> int:
        total = 1
        for size in self.tensor_shape():
            total *= size
        return total

    def describe(self) -> str:
        """The shape in words, for error messages: 'a volume 12x12x20'."""
        return f"a {self.kind} {self}"


@dataclass(frozen=True)
class Volume(Shape):
    """height x width x channels; the tensor of a batch is (N, C, H, W)."""

    height: int
    width: int
    channels: int
    kind = "volume"

    def __str__(self) -> str:
        return f"{self.height}x{self.width}x{self.channels}"

    def tensor_shape(self) -> tuple[int, ...]:
        return (self.channels, self.height, self.width)

    def to_dict(self) -> dict:
        return {"height": self.height, "width": self.width, "channels": self.channels}


@dataclass(frozen=True)
class Vector(Shape):
    """A flat example of ``units`` numbers; the tensor of a batch is (N, units)."""

    units: int
    kind = "vector"

    def __str__(self) -> str:
        return str(self.units)

    def tensor_shape(self) -> tuple[int, ...]:
        return (self.units,)

    def describe(self) -> str:
        return f"a vector of {self.units}"


@dataclass(frozen=True)
class Sequence(Shape):
    """``steps`` positions of ``features`` numbers; the tensor of a batch is (N, steps, features)."""

    steps: int
    features: int
    kind = "sequence"

    def __str__(self) -> str:
        return f"{self.steps}x{self.features} seq"

    def tensor_shape(self) -> tuple[int, ...]:
        return (self.steps, self.features)

    def describe(self) -> str:
        return f"a sequence of {self.steps} steps x {self.features} features"
