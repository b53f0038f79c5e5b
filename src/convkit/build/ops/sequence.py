"""Torch modules for the sequence layer types (see convkit/spec/layer_types/sequence.py).

Tensors: a volume batch is (N, C, H, W); a sequence batch is (N, T, F), batch
first, T the steps (image columns after downsampling), F the features.
"""

from __future__ import annotations

import torch
from torch import nn


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
