"""Torch modules for the sequence layer types (see convkit/spec/layer_types/sequence.py).

Tensors: a volume batch is (N, C, H, W); a sequence batch is (N, T, F), batch
first, T the steps (image columns after downsampling), F the features.
"""

from __future__ import annotations

import torch
from torch import nn

from convkit.nn.activations import make_activation
from convkit.nn.registry import register_builder


class ToSequence(nn.Module):
    """(N, C, H, W) -> (N, W, C*H): each column of the feature volume becomes one step."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        # Works for channels_last input too: permute then reshape copies as needed.
        return x.permute(0, 3, 1, 2).reshape(n, w, c * h)


class Recurrent(nn.Module):
    """A stacked LSTM or GRU over (N, T, F) that returns every step's output (N, T, F')."""

    def __init__(
        self, cell: str, features: int, units: int, bidirectional: bool, layers: int, dropout: float
    ):
        super().__init__()
        kind = {"lstm": nn.LSTM, "gru": nn.GRU}[cell]
        self.rnn = kind(
            input_size=features,
            hidden_size=units,
            num_layers=layers,
            bidirectional=bidirectional,
            dropout=dropout if layers > 1 else 0.0,
            batch_first=True,
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # cuDNN wants the weights in one block; after load/to(device) they may not be.
        if x.is_cuda:
            self.rnn.flatten_parameters()
        output, _ = self.rnn(x.contiguous())  # (N, T, units * directions)
        return output


class SequenceConv(nn.Module):
    """1-D convolution along the steps, 'same' padded: (N, T, F) -> (N, T, filters)."""

    def __init__(self, features: int, filters: int, kernel: int, activation: nn.Module):
        super().__init__()
        self.conv = nn.Conv1d(features, filters, kernel, padding="same")
        self.activation = activation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x.transpose(1, 2))  # (N, filters, T)
        return self.activation(y.transpose(1, 2))


class CtcOutput(nn.Module):
    """Per-step raw scores over blank + symbols: (N, T, F) -> (N, T, K); the task applies CTC."""

    def __init__(self, features: int, classes: int):
        super().__init__()
        self.linear = nn.Linear(features, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x)


# -- builders: one per sequence layer type --------------------------------------------


@register_builder("to_sequence")
def build_to_sequence(spec_layer, info) -> nn.Module:
    return ToSequence()


def _build_recurrent(spec_layer, info) -> nn.Module:
    params = spec_layer.params
    return Recurrent(
        spec_layer.type,
        features=info.input_shapes[0].features,
        units=params["units"],
        bidirectional=params["bidirectional"],
        layers=params["layers"],
        dropout=params["dropout"],
    )


register_builder("lstm")(_build_recurrent)
register_builder("gru")(_build_recurrent)


@register_builder("seq_conv")
def build_seq_conv(spec_layer, info) -> nn.Module:
    params = spec_layer.params
    activation = make_activation(params["activation"]) or nn.Identity()
    return SequenceConv(
        info.input_shapes[0].features, params["filters"], params["kernel"], activation
    )


@register_builder("ctc_output")
def build_ctc_output(spec_layer, info) -> nn.Module:
    # Raw scores: OcrTask applies log-softmax for the CTC loss and for decoding.
    return CtcOutput(info.input_shapes[0].features, info.output_shape.features)
