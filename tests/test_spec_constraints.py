"""Parameter constraints as data: what they accept, how they normalise and describe."""

from __future__ import annotations

import pytest

from convkit.errors import SpecError
from convkit.spec.constraints import (
    Boolean,
    Interval,
    IntTuple,
    Options,
    Param,
    PerItem,
    check_value,
    check_values,
    validate_params,
)


@pytest.mark.parametrize(
    "constraint, text",
    [
        (Interval(int, 1, None), "a positive integer"),
        (Interval(int, 0, None), "a non-negative integer"),
        (Interval(float, 0, None, closed="neither"), "a positive number"),
        (Interval(float, 0, 1, closed="left"), "a number in [0, 1)"),
        (Interval(int, 2, None), "an integer >= 2"),
        (IntTuple(Interval(int, 1, None)), "a positive integer or a list [height, width] of them"),
        (Options({"b", "a"}), "one of 'a', 'b'"),
        (Options({3, 1}), "one of 1, 3"),
        (
            PerItem(Interval(float, 0, None, closed="neither"), "channel"),
            "a positive number for each channel",
        ),
        (Interval(float, 0, 0.5), "a number in [0, 0.5]"),
        (Boolean(), "true or false"),
    ],
)
def test_descriptions(constraint, text):
    assert constraint.describe() == text


def test_acceptance_and_normalisation():
    positive = Interval(int, 1, None)
    assert not positive.accepts(True)  # a bool is not a size
    assert not positive.accepts(2.0)
    assert Interval(float, 0, 1, closed="left").normalise(0) == 0.0
    pair = IntTuple(positive)
    assert pair.normalise(3) == (3, 3)
    assert pair.normalise([3, 5]) == (3, 5)
    assert not pair.accepts([3, 5, 7])
    sides = IntTuple(Interval(int, 0, None), lengths=(2, 4))
    assert sides.normalise(1) == (1, 1, 1, 1)
    assert sides.normalise([1, 2]) == (1, 1, 2, 2)
    assert sides.normalise([0, 1, 2, 3]) == (0, 1, 2, 3)


def test_validate_params_fills_defaults_and_explains():
    params = {
        "units": Param([Interval(int, 1, None)]),
        "mode": Param([Options({"fast", "slow"})], default="fast"),
    }
    assert validate_params("demo", params, {"units": 3}) == {"units": 3, "mode": "fast"}
    with pytest.raises(SpecError) as caught:
        validate_params("demo", params, {})
    assert str(caught.value) == "`units` is required for demo: a positive integer"
    with pytest.raises(SpecError) as caught:
        validate_params("demo", params, {"units": 3, "mode": "slwo"})
    assert str(caught.value) == (
        "`mode` must be one of 'fast', 'slow'. Received: mode='slwo'; did you mean `slow`?"
    )
    with pytest.raises(SpecError) as caught:
        validate_params("demo", params, {"unit": 3})
    assert str(caught.value) == (
        "unknown parameter `unit` for demo; did you mean `units`? (valid: units, mode)"
    )


def test_check_keys_refuses_unknown_and_missing_keys_in_one_line():
    from convkit.errors import UsageError
    from convkit.spec.constraints import check_keys

    allowed = ("epochs", "lr", "seed")
    assert check_keys({"epochs": 3}, allowed, "the demo settings") == {"epochs": 3}
    with pytest.raises(UsageError) as caught:
        check_keys({"epoch": 3}, allowed, "the demo settings", error=UsageError)
    assert str(caught.value) == (
        "unknown key `epoch` in the demo settings; did you mean `epochs`? (valid: epochs, lr, seed)"
    )
    with pytest.raises(SpecError) as caught:
        check_keys({"zzz": 1}, allowed, "the demo settings")
    assert str(caught.value) == "unknown key `zzz` in the demo settings (valid: epochs, lr, seed)"
    with pytest.raises(SpecError) as caught:
        check_keys({"lr": 0.1}, allowed, "the demo settings", required=("epochs",))
    assert str(caught.value) == (
        "missing key `epochs` in the demo settings (valid: epochs, lr, seed)"
    )
    with pytest.raises(
        SpecError, match="the demo settings must be a mapping of settings, not list"
    ):
        check_keys([1], allowed, "the demo settings")


def test_check_keys_drops_the_legacy_keys_it_is_told_about():
    from convkit.spec.constraints import check_keys

    old_file = {"epochs": 3, "warmup": 2}  # written by an older version, read by none now
    assert check_keys(old_file, ("epochs",), "demo", legacy=("warmup",)) == {"epochs": 3}


def test_numbers_are_finite_and_integer_options_are_integers():
    amount = Interval(float, 0, None)
    assert amount.accepts(0) and amount.accepts(2.5)
    assert not amount.accepts(float("nan"))  # NaN compares false with every bound
    assert not amount.accepts(float("inf")) and not Interval(float).accepts(float("-inf"))
    channels = Options({1, 3})
    assert channels.accepts(3) and not channels.accepts(3.0) and not channels.accepts(True)
    assert not channels.accepts("3")
    per_channel = PerItem(amount, "channel")
    assert per_channel.accepts((0.5, 1)) and per_channel.normalise([0.5, 1]) == (0.5, 1.0)
    assert not per_channel.accepts([0.5, -1.0]) and not per_channel.accepts(0.5)


def test_check_value_speaks_the_layer_parameters_template():
    from convkit.errors import DataError

    with pytest.raises(DataError) as caught:
        check_value(
            "crop", 0, Interval(float, 0, 1, closed="right"), "image preprocessing", DataError
        )
    assert str(caught.value) == (
        "image preprocessing: `crop` must be a number in (0, 1]. Received: crop=0"
    )
    rate = Param([Interval(int, 1, None)], doc="Hz")
    with pytest.raises(SpecError) as caught:
        check_value("sample_rate", 0.5, rate)
    assert str(caught.value) == (
        "`sample_rate` must be a positive integer (Hz). Received: sample_rate=0.5"
    )
    with pytest.raises(SpecError, match=r"\(below f_max\)\. Received: f_min=9"):
        check_value("f_min", 9, Interval(float, 0, 8, closed="left"), note="below f_max")
    with pytest.raises(SpecError, match="Received: resize='strech'; did you mean `stretch`"):
        check_value("resize", "strech", Options({"stretch", "letterbox"}))
    assert check_value("scale", 1, Interval(float, 0, None)) == 1.0  # normalised
    assert check_value("f_max", None, Param([Interval(float, 0, None)], default=None)) is None
    params = {"a": Param([Interval(int, 0, None)]), "b": Param([Interval(float, 0, 1)])}
    assert check_values("demo", params, {"a": 2, "b": 1, "c": "not declared"}) == {"a": 2, "b": 1.0}


def test_a_layer_parameter_that_is_not_a_finite_number_is_refused():
    from convkit.spec import NetSpec

    layers = [{"batch_norm": {"epsilon": float("nan")}}, {"output": {"classes": 2}}]
    with pytest.raises(
        SpecError, match="`epsilon` must be a positive number. Received: epsilon=nan"
    ):
        NetSpec.from_dict({"input": "8x8x1", "layers": layers})
