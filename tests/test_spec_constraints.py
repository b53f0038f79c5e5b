"""Parameter constraints as data: what they accept, how they normalise and describe."""

from __future__ import annotations

import pytest

from convkit.errors import SpecError
from convkit.spec.constraints import Boolean, Interval, IntTuple, Options, Param, validate_params


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
