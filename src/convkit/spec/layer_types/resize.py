"""Layer types that change height and width only: upsample, zero_pad, crop."""

from __future__ import annotations

from convkit.errors import ShapeError
from convkit.spec.constraints import Interval, IntTuple, Options, Param
from convkit.spec.registry import LayerType, register_layer_type
from convkit.spec.shapes import Volume


def _upsample_shape(inputs, params) -> Volume:
    volume = inputs[0]
    scale_h, scale_w = params["scale"]
    return Volume(volume.height * scale_h, volume.width * scale_w, volume.channels)


def _upsample_field(field, params):
    if field is None:
        return None
    height, width, jump_h, jump_w = field
    return (height, width, jump_h / params["scale"][0], jump_w / params["scale"][1])


register_layer_type(
    LayerType(
        name="upsample",
        params={
            "scale": Param([IntTuple(Interval(int, 1, None))], default=(2, 2)),
            "method": Param([Options(("nearest", "bilinear"))], default="nearest"),
        },
        accepts=(Volume,),
        output_shape=_upsample_shape,
        receptive_field=_upsample_field,
        explain=lambda inputs, output, params: (
            f"{inputs[0]} → each pixel repeated {params['scale'][0]}x{params['scale'][1]} "
            f"({params['method']}) → {output}"
        ),
        name_prefix="upsample",
        shorthand="scale",
        doc="Enlarge height and width by an integer `scale`.",
    )
)


def _zero_pad_shape(inputs, params) -> Volume:
    volume = inputs[0]
    top, bottom, left, right = params["padding"]
    return Volume(volume.height + top + bottom, volume.width + left + right, volume.channels)


def _zero_pad_field(field, params):
    return field  # padding moves the origin, not the field size


register_layer_type(
    LayerType(
        name="zero_pad",
        params={
            "padding": Param(
                [IntTuple(Interval(int, 0, None), lengths=(2, 4))],
                doc="int, [height, width] or [top, bottom, left, right]",
            )
        },
        accepts=(Volume,),
        output_shape=_zero_pad_shape,
        count_flops=lambda inputs, output, params: 0,
        receptive_field=_zero_pad_field,
        explain=lambda inputs, output, params: f"{inputs[0]} → zeros around it → {output}",
        name_prefix="pad",
        shorthand="padding",
        doc="Add rows and columns of zeros around the volume.",
    )
)


def _crop_shape(inputs, params) -> Volume:
    volume = inputs[0]
    top, bottom, left, right = params["cropping"]
    height = volume.height - top - bottom
    width = volume.width - left - right
    if height < 1 or width < 1:
        raise ShapeError(
            f"cropping [{top}, {bottom}, {left}, {right}] leaves {height}x{width} of the "
            f"{volume.height}x{volume.width} input; crop less"
        )
    return Volume(height, width, volume.channels)


register_layer_type(
    LayerType(
        name="crop",
        params={
            "cropping": Param(
                [IntTuple(Interval(int, 0, None), lengths=(2, 4))],
                doc="int, [height, width] or [top, bottom, left, right]",
            )
        },
        accepts=(Volume,),
        output_shape=_crop_shape,
        count_flops=lambda inputs, output, params: 0,
        explain=lambda inputs, output, params: f"{inputs[0]} → border cut off → {output}",
        name_prefix="crop",
        shorthand="cropping",
        doc="Cut rows and columns off the border.",
    )
)
