"""Window arithmetic (convolution and pooling), with errors that show the numbers.

For one spatial axis of ``size`` pixels, padded by ``before`` and ``after``,
a window of ``kernel`` pixels dilated by ``dilation`` (effective size
``dilation * (kernel - 1) + 1``) moved by ``stride`` gives::

    out = (size + before + after − effective) / stride + 1

``truncate`` floors it (the last pixels that do not fill a window are unused),
``strict`` refuses a fraction, ``same`` ignores the padding and gives
``ceil(size / stride)``, padding as needed (extra pixel at the bottom/right).
"""

from __future__ import annotations

import math

from convkit.errors import ShapeError

MODES = ("truncate", "strict", "same")


def effective_kernel(kernel: int, dilation: int = 1) -> int:
    return dilation * (kernel - 1) + 1


def same_padding(size: int, kernel: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """The (before, after) padding that makes ``ceil(size / stride)`` windows fit."""
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + effective_kernel(kernel, dilation) - size, 0)
    return total // 2, total - total // 2


def _number(value: float) -> str:
    text = str(int(value)) if float(value).is_integer() else f"{value:.2f}"
    return text.replace("-", "−")


def formula(size: int, before: int, after: int, kernel_eff: int, stride: int) -> str:
    """'(32 − 3) / 3 + 1 = 10.67' (padding shown only when there is some)."""
    pads = "".join(f" + {p}" for p in (before, after) if p)
    value = (size + before + after - kernel_eff) / stride + 1
    return f"({size}{pads} − {kernel_eff}) / {stride} + 1 = {_number(value)}"


def _pair(values: tuple[int, int]) -> str:
    return str(values[0]) if values[0] == values[1] else f"{values[0]}x{values[1]}"


def _both_axes(texts: tuple[str, str]) -> str:
    return texts[0] if texts[0] == texts[1] else f"height {texts[0]}, width {texts[1]}"


def window_output(
    size: tuple[int, int],
    kernel: tuple[int, int],
    stride: tuple[int, int],
    padding: tuple[int, int, int, int],
    dilation: tuple[int, int] = (1, 1),
    mode: str = "truncate",
    noun: str = "filters",
) -> tuple[int, int]:
    """Output (height, width) of a sliding window; ``ShapeError`` explains a misfit.

    ``padding`` is (top, bottom, left, right); ``noun`` names the windows in
    messages ("filters", "pooling windows").
    """
    eff = tuple(effective_kernel(k, d) for k, d in zip(kernel, dilation, strict=True))
    if mode == "same":
        return tuple(math.ceil(n / s) for n, s in zip(size, stride, strict=True))
    pads = ((padding[0], padding[1]), (padding[2], padding[3]))
    padded = tuple(n + b + a for n, (b, a) in zip(size, pads, strict=True))
    texts = tuple(
        formula(n, b, a, e, s) for n, (b, a), e, s in zip(size, pads, eff, stride, strict=True)
    )
    same_out = tuple(math.ceil(n / s) for n, s in zip(size, stride, strict=True))
    kernel_text = f"{kernel[0]}x{kernel[1]}"
    if any(e > p for e, p in zip(eff, padded, strict=True)):
        dilated = "" if eff == tuple(kernel) else f" (dilated to {eff[0]}x{eff[1]})"
        raise ShapeError(
            f"the {kernel_text} {noun}{dilated} are larger than the padded input "
            f"{padded[0]}x{padded[1]}: {_both_axes(texts)}; use {noun} of at most "
            f"{padded[0]}x{padded[1]}, more padding, or mode same (→ {same_out[0]}x{same_out[1]})"
        )
    floor_out = tuple((p - e) // s + 1 for p, e, s in zip(padded, eff, stride, strict=True))
    leftover = tuple((p - e) % s for p, e, s in zip(padded, eff, stride, strict=True))
    if mode == "strict" and any(leftover):
        raise ShapeError(
            f"mode strict needs the {kernel_text} {noun} at stride {_pair(stride)} to tile the "
            f"{size[0]}x{size[1]} input exactly, but {_both_axes(texts)}; try "
            f"{_padding_suggestion(pads, padded, eff, stride)}, "
            f"mode truncate (→ {floor_out[0]}x{floor_out[1]}, {_unused(leftover)}) "
            f"or mode same (→ {same_out[0]}x{same_out[1]})"
        )
    return floor_out


def _unused(leftover: tuple[int, int]) -> str:
    """'the last 2 rows and 2 columns unused' (what truncating drops)."""
    parts = [
        f"{count} {noun}{'s' if count > 1 else ''}"
        for count, noun in zip(leftover, ("row", "column"), strict=True)
        if count
    ]
    return f"the last {' and '.join(parts)} unused"


def _padding_suggestion(pads, padded, eff, stride) -> str:
    """The least extra padding that makes every axis tile exactly, in spec syntax."""
    new_pads, outs, extras = [], [], []
    for (before, after), p, e, s in zip(pads, padded, eff, stride, strict=True):
        extra = (-(p - e)) % s  # pixels to add so that (p + extra − e) divides by s
        extras.append(extra)
        new_pads.append((before + extra // 2, after + extra - extra // 2))
        outs.append((p + extra - e) // s + 1)
    target = f"{outs[0]}x{outs[1]}"
    (top, bottom), (left, right) = new_pads
    if top == bottom == left == right:
        return f"padding {top} (→ {target})"
    if top == bottom and left == right:
        return f"padding [{top}, {left}] (→ {target})"
    listed = f"`padding: [{top}, {bottom}, {left}, {right}]`"
    if all(b == a == 0 for b, a in pads) and extras[0] == extras[1]:
        return f"padding {extras[0]} (→ {target}, at the bottom/right: {listed})"
    return f"{listed} (→ {target})"
