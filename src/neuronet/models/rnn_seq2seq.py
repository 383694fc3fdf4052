"""The RNN encoder–decoder with attention (Bahdanau et al. 2015; Luong et al. 2015).

Encoder: embedding → (bidirectional) GRU or LSTM over the packed source, so padding takes no part.
Its final states, both directions side by side, pass through a tanh bridge to start the decoder.

Decoder, one target step at a time:

- Bahdanau (additive): score_j = vᵀ tanh(W s_{t-1} + U h_j) on the *previous* decoder state;
  the context c_t = Σ_j α_tj h_j joins the embedded input: s_t = RNN([emb(y_{t-1}); c_t], s_{t-1});
  logits = W_o [s_t; c_t; emb(y_{t-1})].
- Luong (general, multiplicative): s_t = RNN([emb(y_{t-1}); h̃_{t-1}], s_{t-1}) (input feeding);
  score_j = s_tᵀ W_a h_j on the *current* state; the attentional hidden state
  h̃_t = tanh(W_c [c_t; s_t]); logits = W_s h̃_t.

Padded source positions get a score of -inf, so exactly zero attention.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import ClassVar

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from neuronet.models.registry import MODELS, init_seed

__all__ = ["RNNSeq2Seq", "RNNState"]

Hidden = torch.Tensor | tuple[torch.Tensor, torch.Tensor]  # GRU: h (L, B, H); LSTM: (h, c)


@dataclass
class RNNState:
    """Decoding state: encoder outputs (B, S, E), their attention keys (B, S, *), the source mask (B, S),
    the decoder's hidden state, Luong's attentional vector h̃ (B, H) and the last attention weights (B, S)."""

    outputs: torch.Tensor
    keys: torch.Tensor
    keep: torch.Tensor
    hidden: Hidden
    feed: torch.Tensor
    weights: torch.Tensor | None = None


def _select(hidden: Hidden, index: torch.Tensor) -> Hidden:
    return (hidden[0][:, index], hidden[1][:, index]) if isinstance(hidden, tuple) else hidden[:, index]


@MODELS.register("rnn_seq2seq", "RNN encoder-decoder (GRU/LSTM) with Bahdanau or Luong attention: translation.")
class RNNSeq2Seq(nn.Module):
    """An RNN encoder–decoder with Bahdanau (additive) or Luong (general) attention.

    Args:
        input_shape: (src_len,): the source length the data is padded to (any length works).
        num_outputs: Target vocabulary size.
        vocab_size: Source vocabulary size (default: num_outputs).
        cell: "gru" or "lstm".
        attention: "bahdanau" (additive, previous state) or "luong" (general, current state).
        embed_dim: Embedding size (source and target).
        hidden: Hidden units of the decoder and of each encoder direction.
        layers: Stacked recurrent layers (encoder and decoder).
        bidirectional: Read the source both ways.
        dropout: Dropout on embeddings, between layers and before the output layer.
        pad_index: The padding id.
        seed: Seed for the initial weights.

    Returns:
        `forward(src (B, S), tgt_in (B, T)) -> logits (B, T, num_outputs)`.

    Example:
        >>> model = RNNSeq2Seq((6,), 20, hidden=16, embed_dim=8, attention="luong", seed=0)
        >>> model(torch.randint(4, 20, (2, 6)), torch.randint(4, 20, (2, 3))).shape
        torch.Size([2, 3, 20])
    """

    task: ClassVar[str] = "seq2seq"
    layouts: ClassVar[tuple[str, ...]] = ("tokens",)

    def __init__(self, input_shape: Sequence[int], num_outputs: int, vocab_size: int | None = None, cell: str = "gru",
                 attention: str = "bahdanau", embed_dim: int = 128, hidden: int = 256, layers: int = 1,
                 bidirectional: bool = True, dropout: float = 0.1, pad_index: int = 0, seed: int | None = None) -> None:
        super().__init__()
        if cell not in ("gru", "lstm"):
            raise ValueError(f"cell must be 'gru' or 'lstm', got {cell!r}")
        if attention not in ("bahdanau", "luong"):
            raise ValueError(f"attention must be 'bahdanau' or 'luong', got {attention!r}")
        self.hparams = {"cell": cell, "attention": attention, "embed_dim": embed_dim, "hidden": hidden,
                        "layers": layers, "bidirectional": bidirectional, "dropout": dropout, "seed": seed}
        self.pad_index, self.attention, self.lstm = pad_index, attention, cell == "lstm"
        rnn = nn.LSTM if self.lstm else nn.GRU
        enc = hidden * (2 if bidirectional else 1)  # encoder output size E
        between = dropout if layers > 1 else 0.0
        bahdanau = attention == "bahdanau"
        with init_seed(seed):
            self.src_embed = nn.Embedding(vocab_size or num_outputs, embed_dim, padding_idx=pad_index)
            self.tgt_embed = nn.Embedding(num_outputs, embed_dim, padding_idx=pad_index)
            self.drop = nn.Dropout(dropout)
            self.encoder = rnn(embed_dim, hidden, layers, batch_first=True, bidirectional=bidirectional, dropout=between)
            self.bridge = nn.Linear(enc, hidden)  # final encoder state → first decoder state
            self.bridge_c = nn.Linear(enc, hidden) if self.lstm else None
            self.decoder = rnn(embed_dim + (enc if bahdanau else hidden), hidden, layers, batch_first=True,
                               dropout=between)
            if bahdanau:
                self.W = nn.Linear(hidden, hidden, bias=False)  # on the previous decoder state
                self.U = nn.Linear(enc, hidden)  # on the encoder outputs (precomputed once)
                self.v = nn.Linear(hidden, 1, bias=False)
                self.out = nn.Linear(hidden + enc + embed_dim, num_outputs)
            else:
                self.W_a = nn.Linear(enc, hidden, bias=False)  # general score s_tᵀ W_a h_j
                self.W_c = nn.Linear(enc + hidden, hidden, bias=False)  # attentional hidden layer
                self.out = nn.Linear(hidden, num_outputs)

    # --- encoder ---

    def begin(self, src: torch.Tensor | None, batch: int) -> RNNState:
        """Encode src (B, S) (padding at the end) into the decoder's first state."""
        if src is None:
            raise ValueError("A seq2seq model needs the source sequence; pass src=(B, S) token ids.")
        keep = src != self.pad_index  # (B, S)
        keep = keep | ~keep.any(dim=1, keepdim=True)  # an all-padding source attends everywhere (never NaN)
        lengths = keep.sum(dim=1).cpu()
        packed = pack_padded_sequence(self.drop(self.src_embed(src)), lengths, batch_first=True, enforce_sorted=False)
        packed_out, final = self.encoder(packed)
        outputs = pad_packed_sequence(packed_out, batch_first=True, total_length=src.shape[1])[0]  # (B, S, E)
        hidden: Hidden = self._bridge(final[0], self.bridge) if self.lstm else self._bridge(final, self.bridge)
        if self.lstm:
            hidden = (hidden, self._bridge(final[1], self.bridge_c))
        keys = self.U(outputs) if self.attention == "bahdanau" else self.W_a(outputs)  # (B, S, H)
        feed = outputs.new_zeros(src.shape[0], self.out.in_features if self.attention == "luong" else 0)
        return RNNState(outputs, keys, keep, hidden, feed)

    def _bridge(self, final: torch.Tensor, linear: nn.Linear) -> torch.Tensor:
        """Final states (L * dirs, B, H) → (L, B, H): directions side by side, then tanh(linear)."""
        dirs = 2 if self.encoder.bidirectional else 1
        final = final.view(self.encoder.num_layers, dirs, *final.shape[1:])  # (L, dirs, B, H)
        return torch.tanh(linear(torch.cat(list(final.unbind(1)), dim=-1)))  # (L, B, H)

    # --- decoder ---

    def _attend(self, query: torch.Tensor, state: RNNState) -> tuple[torch.Tensor, torch.Tensor]:
        """Scores of the query (B, H) against every source position → context (B, E), weights (B, S)."""
        if self.attention == "bahdanau":
            scores = self.v(torch.tanh(self.W(query)[:, None, :] + state.keys)).squeeze(-1)  # (B, S)
        else:
            scores = (state.keys @ query[:, :, None]).squeeze(-1)  # (B, S): s_tᵀ W_a h_j
        weights = scores.masked_fill(~state.keep, float("-inf")).softmax(dim=-1)  # padding: exactly 0
        context = (weights[:, None, :] @ state.outputs).squeeze(1)  # (B, E)
        return context, weights

    def step(self, token: torch.Tensor, state: RNNState) -> tuple[torch.Tensor, RNNState]:
        """One decoder step: token (B,) → logits (B, V) and the next state."""
        emb = self.drop(self.tgt_embed(token))  # (B, D)
        top = (state.hidden[0] if self.lstm else state.hidden)[-1]  # (B, H): the previous top-layer state
        if self.attention == "bahdanau":
            context, weights = self._attend(top, state)
            output, hidden = self.decoder(torch.cat([emb, context], dim=-1)[:, None, :], state.hidden)
            s = output[:, 0]  # (B, H)
            logits = self.out(self.drop(torch.cat([s, context, emb], dim=-1)))
            feed = state.feed
        else:
            output, hidden = self.decoder(torch.cat([emb, state.feed], dim=-1)[:, None, :], state.hidden)
            s = output[:, 0]  # (B, H): the current state
            context, weights = self._attend(s, state)
            feed = torch.tanh(self.W_c(torch.cat([context, s], dim=-1)))  # h̃_t (B, H)
            logits = self.out(self.drop(feed))
        return logits, replace(state, hidden=hidden, feed=feed, weights=weights)

    def _run(self, tgt: torch.Tensor, state: RNNState) -> tuple[torch.Tensor, torch.Tensor, RNNState]:
        """Every step of tgt (B, T) → logits (B, T, V), weights (B, T, S), the final state."""
        logits, weights = [], []
        for t in range(tgt.shape[1]):
            step_logits, state = self.step(tgt[:, t], state)
            logits.append(step_logits)
            weights.append(state.weights)
        return torch.stack(logits, dim=1), torch.stack(weights, dim=1), state

    def forward(self, src: torch.Tensor, tgt_in: torch.Tensor) -> torch.Tensor:
        """Teacher forcing: src (B, S), tgt_in (B, T) = [bos] + target[:-1] → logits (B, T, V)."""
        return self._run(tgt_in, self.begin(src, src.shape[0]))[0]

    def cross_attention(self, src: torch.Tensor, tgt_in: torch.Tensor) -> torch.Tensor:
        """The attention weights of each target step over the source: (B, T, S)."""
        return self._run(tgt_in, self.begin(src, src.shape[0]))[1]

    # --- the decoding protocol (see neuronet.models.decoding) ---

    def next_logits(self, tokens: torch.Tensor, state: RNNState) -> tuple[torch.Tensor, RNNState]:
        """Feed target tokens (B, t_new) one step each; the last step's logits (B, V) and the new state."""
        logits, _, state = self._run(tokens, state)
        return logits[:, -1], state

    def reorder(self, state: RNNState, index: torch.Tensor) -> RNNState:
        """Select (or repeat) rows: row i of the result is row index[i]."""
        return RNNState(state.outputs[index], state.keys[index], state.keep[index], _select(state.hidden, index),
                        state.feed[index], None if state.weights is None else state.weights[index])
