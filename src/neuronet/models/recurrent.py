"""Recurrent networks: simple RNN, LSTM and GRU for classification, regression and forecasting.

Inputs are float sequences (B, T, F), or token ids (B, T) with `vocab_size` (an embedding
layer comes first). Padded token sequences are packed, so padding never changes the output.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from neuronet.models.registry import MODELS, as_shape, init_seed

__all__ = ["RecurrentNet", "RNN", "LSTM", "GRU"]


class RecurrentNet(nn.Module):
    """A stacked (bi)directional recurrent layer and a linear head.

    Args:
        input_shape: (T, F) for float sequences, (T,) for token ids.
        num_outputs: Classes, targets, or forecast horizon.
        hidden: Hidden units per direction.
        layers: Stacked recurrent layers.
        bidirectional: Read the sequence both ways.
        dropout: Dropout between stacked layers and before the head.
        many_to_many: One output per time step (B, T, num_outputs) instead of one per sequence.
        residual: Forecast relative to the last input value: inputs are shifted so that the
            last step is 0 and the last value of feature 0 is added back to the output. The
            net learns changes, not levels, which extrapolates beyond the training range.
        vocab_size: Size of the vocabulary for token-id inputs (else float inputs).
        pad_index: The padding token id.
        embed_dim: Embedding size for token ids.
        seed: Seed for the initial weights.

    Example:
        >>> LSTM((30, 3), 2, hidden=16, seed=0)(torch.zeros(4, 30, 3)).shape
        torch.Size([4, 2])
    """

    layouts: ClassVar[tuple[str, ...]] = ("sequence", "tokens")  # the inputs it reads

    cell: ClassVar[type[nn.RNNBase]] = nn.LSTM

    def __init__(self, input_shape: Sequence[int], num_outputs: int, hidden: int = 64, layers: int = 1,
                 bidirectional: bool = False, dropout: float = 0.0, many_to_many: bool = False, residual: bool = False,
                 vocab_size: int | None = None, pad_index: int = 0, embed_dim: int = 64, seed: int | None = None) -> None:
        super().__init__()
        shape = as_shape(input_shape)
        self.hparams = {"hidden": hidden, "layers": layers, "bidirectional": bidirectional, "dropout": dropout,
                        "many_to_many": many_to_many, "residual": residual, "embed_dim": embed_dim, "seed": seed}
        self.tokens, self.pad_index = vocab_size is not None, pad_index
        self.many_to_many, self.residual = many_to_many, residual
        if self.tokens and residual:
            raise ValueError("residual forecasting needs float inputs, not token ids")
        with init_seed(seed):
            self.embed = nn.Embedding(vocab_size, embed_dim, padding_idx=pad_index) if self.tokens else None
            features = embed_dim if self.tokens else shape[-1]
            self.rnn = self.cell(features, hidden, num_layers=layers, batch_first=True, bidirectional=bidirectional,
                                 dropout=dropout if layers > 1 else 0.0)
            self.drop = nn.Dropout(dropout)
            self.head = nn.Linear(hidden * (2 if bidirectional else 1), num_outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.residual:
            level = x[:, -1:, :]  # (B, 1, F): the last observed values
            x = x - level
        inputs = self.embed(x) if self.tokens else x  # (B, T, F)
        if self.tokens and (torch.compiler.is_exporting() or torch.jit.is_tracing()):
            return self._forward_masked(x, inputs)
        if self.tokens:  # pack so that padding takes no part: (B, T) ids, padding at the end
            lengths = (x != self.pad_index).sum(dim=1).clamp(min=1).cpu()
            packed, state = self.rnn(pack_padded_sequence(inputs, lengths, batch_first=True, enforce_sorted=False))
            steps = pad_packed_sequence(packed, batch_first=True, total_length=x.shape[1])[0]
        else:
            steps, state = self.rnn(inputs)  # (B, T, H * dirs)
        if self.many_to_many:
            out = self.head(self.drop(steps))  # (B, T, num_outputs)
            return out + (x + level)[..., :1] if self.residual else out
        h_n = state[0] if isinstance(state, tuple) else state  # (layers * dirs, B, H); LSTM returns (h, c)
        last = torch.cat([h_n[-1], h_n[-2]], dim=1) if self.rnn.bidirectional else h_n[-1]  # (B, H * dirs)
        out = self.head(self.drop(last))  # (B, num_outputs)
        return out + level[:, 0, :1] if self.residual else out


    def export_problem(self) -> str | None:
        """Why this network cannot be exported as a graph (ONNX), or None."""
        if self.tokens and self.rnn.bidirectional:
            return ("a bidirectional recurrent model over padded text cannot be exported exactly (its backward pass "
                    "would start in the padding); serve it with the torch backend")
        return None

    def _forward_masked(self, x: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
        """What the packed forward computes, in operations an exported graph (ONNX) can express.

        Padding sits at the end, so a one-way RNN's output at each sequence's last real step is
        what packing gives; padded steps are zeroed as `pad_packed_sequence` does.
        """
        if self.export_problem():
            raise ValueError(self.export_problem())
        real = x != self.pad_index  # (B, T)
        lengths = real.sum(dim=1).clamp(min=1)
        steps, _ = self.rnn(inputs)  # (B, T, H)
        if self.many_to_many:
            return self.head(self.drop(steps * real.unsqueeze(-1).to(steps.dtype)))
        index = (lengths - 1).view(-1, 1, 1).expand(-1, 1, steps.shape[-1])  # (B, 1, H)
        last = steps.gather(1, index).squeeze(1)  # (B, H): the top layer at each sequence's last real step
        return self.head(self.drop(last))


@MODELS.register("rnn", "Simple (Elman) RNN with tanh units: sequences, text or forecasting.")
class RNN(RecurrentNet):
    __doc__ = RecurrentNet.__doc__
    cell = nn.RNN


@MODELS.register("lstm", "LSTM: gated memory cells for long sequences, text or forecasting.")
class LSTM(RecurrentNet):
    __doc__ = RecurrentNet.__doc__
    cell = nn.LSTM


@MODELS.register("gru", "GRU: gated recurrent units (fewer parameters than an LSTM).")
class GRU(RecurrentNet):
    __doc__ = RecurrentNet.__doc__
    cell = nn.GRU
