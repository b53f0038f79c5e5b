"""Parameter declarations and rules shared by the convolution and pooling types."""

from __future__ import annotations

from convkit.errors import SpecError
from convkit.spec.activations import ACTIVATIONS
from convkit.spec.arithmetic import MODES, effective_kernel, formula
from convkit.spec.constraints import Boolean, Interval, IntTuple, Options, Param
from convkit.spec.registry import Field

POSITIVE = Interval(int, 1, None)
NON_NEGATIVE = Interval(int, 0, None)

KERNEL = Param([IntTuple(POSITIVE)], doc="window size: an int or [height, width]")
STRIDE = Param([IntTuple(POSITIVE)], default=(1, 1), doc="step between windows")
PADDING = Param(
    [IntTuple(NON_NEGATIVE, lengths=(2, 4)), Options({"same", "valid"})],
    default=(0, 0, 0, 0),
    doc="zeros around the input: int, [height, width], [top, bottom, left, right], 'same' or 'valid'",
)
DILATION = Param([IntTuple(POSITIVE)], default=(1, 1), doc="spacing between kernel taps")
BIAS = Param([Boolean()], default=True, doc="add a learned bias per output channel")
MODE = Param(
    [Options(MODES)],
    default="truncate",
    doc="truncate (floor), strict (must tile exactly) or same (ceil(in / stride))",
)


def activation_param(default: str) -> Param:
    return Param([Options(ACTIVATIONS)], default=default, doc="nonlinearity applied after")


def finalise_padding(params: dict) -> dict:
    """``padding: same`` is ``mode: same``; ``valid`` is no padding. Reject contradictions."""
    padding = params.get("padding")
    if padding == "valid":
        params["padding"] = (0, 0, 0, 0)
    elif padding == "same":
        if params.get("mode") == "strict":
            raise SpecError("`padding: same` contradicts `mode: strict`; use one of them")
        params["padding"] = (0, 0, 0, 0)
        params["mode"] = "same"
    elif params.get("mode") == "same" and any(params["padding"]):
        raise SpecError(
            "`mode: same` computes its own padding; remove `padding` or use mode truncate or strict"
        )
    return params


def window_field(field_in: Field, kernel, stride, dilation=(1, 1)) -> Field:
    """Receptive field after a sliding window: grows by (kernel − 1) jumps, jump × stride."""
    if field_in is None:
        return None
    height, width, jump_h, jump_w = field_in
    eff_h, eff_w = (effective_kernel(k, d) for k, d in zip(kernel, dilation, strict=True))
    return (
        height + (eff_h - 1) * jump_h,
        width + (eff_w - 1) * jump_w,
        jump_h * stride[0],
        jump_w * stride[1],
    )


def size_text(pair) -> str:
    return f"{pair[0]}x{pair[1]}"


def stride_text(stride) -> str:
    return str(stride[0]) if stride[0] == stride[1] else size_text(stride)


def window_arithmetic(volume, output, params) -> str:
    """'(30 − 3) / 3 + 1 = 10' for each axis (once when both are the same)."""
    if params.get("mode") == "same":
        return f"mode same: ceil({volume.height} / {params['stride'][0]}) = {output.height}"
    top, bottom, left, right = params["padding"]
    dilation = params.get("dilation", (1, 1))
    eff_h = effective_kernel(params["kernel"][0], dilation[0])
    eff_w = effective_kernel(params["kernel"][1], dilation[1])
    height = formula(volume.height, top, bottom, eff_h, params["stride"][0])
    width = formula(volume.width, left, right, eff_w, params["stride"][1])
    return height if height == width else f"height {height}, width {width}"
