"""Sequence layer types: shapes, parameter counts, messages, and the torch modules."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from convkit.errors import ShapeError, SpecError
from convkit.nn import build
from convkit.spec import NetSpec, load_spec
from convkit.spec.shapes import Sequence

CRNN = Path(__file__).resolve().parents[1] / "examples" / "crnn.yaml"


def _reader(*layers, input="16x32x1"):
    return NetSpec.from_dict({"input": input, "layers": list(layers)})


def test_crnn_example_infers_steps_and_matches_torch_parameters():
    spec = load_spec(CRNN)
    infos = spec.infer()
    assert infos[-1].output_shape == Sequence(steps=32, features=37)
    net = build(spec)
    assert sum(p.numel() for p in net.parameters()) == sum(i.params for i in infos)


def test_any_width_reads_at_run_time():
    net = build(load_spec(CRNN)).eval()
    with torch.no_grad():
        out = net(torch.zeros(3, 1, 32, 200))  # nominal width is 128
    assert out.shape == (3, 50, 37)  # one step per 4 columns, blank + 36 symbols


def test_to_sequence_turns_columns_into_steps():
    spec = _reader({"conv2d": {"filters": 3, "kernel": 3, "padding": "same"}}, {"to_sequence": {}})
    assert spec.infer()[-1].output_shape == Sequence(steps=32, features=16 * 3)
    x = torch.arange(2 * 3 * 16 * 32, dtype=torch.float32).reshape(2, 3, 16, 32)
    seq = build(_reader({"to_sequence": {}}, input="16x32x3"))(x)
    # Step t holds column t of every channel: (C, H) flattened.
    assert torch.equal(seq[1, 5], x[1, :, :, 5].reshape(-1))


@pytest.mark.parametrize("cell, bidirectional", [("lstm", True), ("gru", False)])
def test_recurrent_shapes_and_parameters(cell, bidirectional):
    spec = _reader(
        {"to_sequence": {}},
        {cell: {"units": 8, "bidirectional": bidirectional, "layers": 2}},
        {"seq_conv": {"filters": 6, "kernel": 3}},
        {"ctc_output": {"alphabet": "digits"}},
    )
    infos = spec.infer()
    assert infos[1].output_shape == Sequence(32, 16 if bidirectional else 8)
    assert infos[2].output_shape == Sequence(32, 6)
    assert infos[3].output_shape == Sequence(32, 11)
    net = build(spec)
    for info in infos:
        module_params = sum(p.numel() for n, p in net.named_parameters() if info.name in n)
        assert module_params == info.params, info.name
    assert net(torch.zeros(2, 1, 16, 40)).shape == (2, 40, 11)


def test_alphabet_preset_is_stored_spelled_out_and_round_trips():
    spec = _reader({"to_sequence": {}}, {"ctc_output": {"alphabet": "digits"}})
    assert spec.layers[-1].params["alphabet"] == "0123456789"
    assert NetSpec.from_dict(spec.to_dict()) == spec


def test_recurrent_layer_on_a_volume_points_to_to_sequence():
    with pytest.raises(ShapeError, match="put a `to_sequence` layer before it"):
        _reader({"lstm": {"units": 8}}).infer()


def test_ctc_output_rejects_repeated_symbols():
    with pytest.raises(SpecError, match="`alphabet` must be a string of distinct printable"):
        _reader({"to_sequence": {}}, {"ctc_output": {"alphabet": "abca"}}).infer()


def test_ctc_output_makes_the_spec_a_reader():
    from convkit.tasks import task_for_spec, task_from_dict

    task = task_for_spec(load_spec(CRNN))
    assert task.kind == "ocr" and task.monitor == "cer" and task.monitor_mode == "min"
    assert task.pixels_per_step == 4.0 and task.alphabet.symbols.startswith("0123")
    assert task_from_dict(task.to_dict()).to_dict() == task.to_dict()
