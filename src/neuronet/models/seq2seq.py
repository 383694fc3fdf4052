"""A Transformer encoder–decoder for translation ("Attention Is All You Need", pre-LayerNorm).

source ids → embedding + sinusoidal positions → encoder blocks (self-attention, padding masked)
target ids → embedding + sinusoidal positions → decoder blocks (causal self-attention with a
key/value cache, cross-attention to the encoder output, MLP) → LayerNorm → linear head.

The blocks are the ones GPT and the Transformer encoder use (`CausalSelfAttention`, `MLP`,
`EncoderBlock`); only cross-attention is new here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from neuronet.models.gpt import KV, MLP, CausalSelfAttention
from neuronet.models.registry import MODELS, init_seed
from neuronet.models.transformer import EncoderBlock

__all__ = ["TransformerSeq2Seq", "Seq2SeqState", "CrossAttention", "sinusoidal_positions"]


def sinusoidal_positions(positions: torch.Tensor, dim: int) -> torch.Tensor:
    """The fixed sine/cosine position encodings of Vaswani et al.: (T,) positions → (T, dim).

    Example:
        >>> sinusoidal_positions(torch.arange(3), 4)[0]
        tensor([0., 1., 0., 1.])
    """
    inv_freq = torch.exp(-math.log(10000.0) * torch.arange(0, dim, 2, device=positions.device) / dim)  # (dim/2,)
    angles = positions.float()[:, None] * inv_freq[None, :]  # (T, dim/2)
    table = torch.zeros(len(positions), dim, device=positions.device)
    table[:, 0::2], table[:, 1::2] = angles.sin(), angles.cos()[:, : dim // 2]
    return table


class CrossAttention(nn.Module):
    """Queries from the decoder, keys and values from the encoder output; padded source keys masked out."""

    def __init__(self, dim: int, heads: int, dropout: float) -> None:
        super().__init__()
        self.heads, self.dropout = heads, dropout
        self.q = nn.Linear(dim, dim)
        self.kv = nn.Linear(dim, 2 * dim)
        self.proj = nn.Linear(dim, dim)

    def keys(self, memory: torch.Tensor) -> KV:
        """Encoder output (B, S, C) → keys and values (B, h, S, d), computed once per source."""
        b, s, c = memory.shape
        k, v = self.kv(memory).view(b, s, 2, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        return k, v

    def forward(self, x: torch.Tensor, kv: KV, keep: torch.Tensor,
                need_weights: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
        """x (B, T, C); keep (B, S) True at real source tokens → (B, T, C) and (B, h, T, S) weights if asked."""
        b, t, c = x.shape
        q = self.q(x).view(b, t, self.heads, c // self.heads).transpose(1, 2)  # (B, h, T, d)
        k, v = kv
        mask = keep[:, None, None, :]  # (B, 1, 1, S)
        p = self.dropout if self.training else 0.0
        weights = None
        if need_weights:
            scores = (q @ k.transpose(-2, -1)) / math.sqrt(q.shape[-1])  # (B, h, T, S)
            weights = scores.masked_fill(~mask, float("-inf")).softmax(dim=-1)
            out = F.dropout(weights, p) @ v
        else:
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p)
        return self.proj(out.transpose(1, 2).reshape(b, t, c)), weights


class DecoderBlock(nn.Module):
    """x + causal self-attention(ln(x)), x + cross-attention(ln(x), encoder), x + mlp(ln(x))."""

    def __init__(self, dim: int, heads: int, dropout: float) -> None:
        super().__init__()
        self.ln_1, self.ln_2, self.ln_3 = nn.LayerNorm(dim), nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.self_attn = CausalSelfAttention(dim, heads, dropout, bias=True)
        self.cross_attn = CrossAttention(dim, heads, dropout)
        self.mlp = MLP(dim, dropout, bias=True)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, memory_kv: KV, keep: torch.Tensor, past: KV | None = None,
                need_weights: bool = False) -> tuple[torch.Tensor, KV, torch.Tensor | None]:
        attended, kv = self.self_attn(self.ln_1(x), past)
        x = x + attended
        crossed, weights = self.cross_attn(self.ln_2(x), memory_kv, keep, need_weights)
        x = x + self.drop(crossed)
        return x + self.mlp(self.ln_3(x)), kv, weights


@dataclass
class Seq2SeqState:
    """Decoding state: each layer's source keys/values, the source mask (B, S), the target cache and length."""

    memory: list[KV]
    keep: torch.Tensor
    cache: list[KV] | None
    length: int


@MODELS.register("transformer_seq2seq", "Transformer encoder-decoder with cross-attention: translation, seq2seq.")
class TransformerSeq2Seq(nn.Module):
    """A Transformer encoder–decoder (teacher forcing in `forward`, a key/value cache for decoding).

    Args:
        input_shape: (src_len,): the source length the data is padded to (any length works).
        num_outputs: Target vocabulary size.
        vocab_size: Source vocabulary size (default: num_outputs).
        dim: Model width.
        heads: Attention heads.
        layers: Encoder blocks, and as many decoder blocks.
        dropout: Dropout on embeddings, attention and MLPs.
        pad_index: The padding id (source positions holding it are never attended to).
        seed: Seed for the initial weights.

    Returns:
        `forward(src (B, S), tgt_in (B, T)) -> logits (B, T, num_outputs)`.

    Example:
        >>> model = TransformerSeq2Seq((7,), 30, dim=16, heads=2, layers=1, seed=0)
        >>> model(torch.randint(4, 30, (2, 7)), torch.randint(4, 30, (2, 5))).shape
        torch.Size([2, 5, 30])
    """

    task: ClassVar[str] = "seq2seq"
    layouts: ClassVar[tuple[str, ...]] = ("tokens",)

    def __init__(self, input_shape: Sequence[int], num_outputs: int, vocab_size: int | None = None, dim: int = 128,
                 heads: int = 4, layers: int = 3, dropout: float = 0.1, pad_index: int = 0,
                 seed: int | None = None) -> None:
        super().__init__()
        self.hparams = {"dim": dim, "heads": heads, "layers": layers, "dropout": dropout, "seed": seed}
        self.pad_index, self.dim = pad_index, dim
        with init_seed(seed):
            self.src_embed = nn.Embedding(vocab_size or num_outputs, dim, padding_idx=pad_index)
            self.tgt_embed = nn.Embedding(num_outputs, dim, padding_idx=pad_index)
            self.drop = nn.Dropout(dropout)
            self.encoder = nn.ModuleList(EncoderBlock(dim, heads, 4 * dim, dropout) for _ in range(layers))
            self.enc_norm = nn.LayerNorm(dim)
            self.decoder = nn.ModuleList(DecoderBlock(dim, heads, dropout) for _ in range(layers))
            self.dec_norm = nn.LayerNorm(dim)
            self.head = nn.Linear(dim, num_outputs)

    def _embed(self, embedding: nn.Embedding, ids: torch.Tensor, start: int = 0) -> torch.Tensor:
        positions = torch.arange(start, start + ids.shape[1], device=ids.device)
        return self.drop(embedding(ids) + sinusoidal_positions(positions, self.dim))  # (B, T, C)

    def begin(self, src: torch.Tensor | None, batch: int) -> Seq2SeqState:
        """Encode src (B, S): each decoder layer's cross-attention keys/values and the source mask."""
        if src is None:
            raise ValueError("A seq2seq model needs the source sequence; pass src=(B, S) token ids.")
        keep = src != self.pad_index  # (B, S) True at real tokens
        keep = keep | ~keep.any(dim=1, keepdim=True)  # an all-padding source attends everywhere (never NaN)
        h = self._embed(self.src_embed, src)
        for block in self.encoder:
            h, _ = block(h, ~keep)
        memory = self.enc_norm(h)  # (B, S, C)
        return Seq2SeqState([block.cross_attn.keys(memory) for block in self.decoder], keep, None, 0)

    def _decode(self, tgt: torch.Tensor, state: Seq2SeqState,
                need_weights: bool = False) -> tuple[torch.Tensor, Seq2SeqState, torch.Tensor | None]:
        """tgt (B, T) following the state's tokens → logits (B, T, V), new state, last layer's weights."""
        x = self._embed(self.tgt_embed, tgt, state.length)
        cache, weights = [], None
        for i, block in enumerate(self.decoder):
            x, kv, weights = block(x, state.memory[i], state.keep, None if state.cache is None else state.cache[i],
                                   need_weights)
            cache.append(kv)
        logits = self.head(self.dec_norm(x))  # (B, T, V)
        return logits, Seq2SeqState(state.memory, state.keep, cache, state.length + tgt.shape[1]), weights

    def forward(self, src: torch.Tensor, tgt_in: torch.Tensor) -> torch.Tensor:
        """Teacher forcing: src (B, S), tgt_in (B, T) = [bos] + target[:-1] → logits (B, T, V)."""
        return self._decode(tgt_in, self.begin(src, src.shape[0]))[0]

    def cross_attention(self, src: torch.Tensor, tgt_in: torch.Tensor) -> torch.Tensor:
        """The last decoder layer's cross-attention weights, averaged over heads: (B, T, S)."""
        return self._decode(tgt_in, self.begin(src, src.shape[0]), need_weights=True)[2].mean(dim=1)

    def next_logits(self, tokens: torch.Tensor, state: Seq2SeqState) -> tuple[torch.Tensor, Seq2SeqState]:
        """Feed target tokens (B, t_new) through the cache; the last position's logits (B, V) and the new state."""
        logits, state, _ = self._decode(tokens, state)
        return logits[:, -1], state

    def reorder(self, state: Seq2SeqState, index: torch.Tensor) -> Seq2SeqState:
        """Select (or repeat) rows: row i of the result is row index[i]."""
        memory = [(k[index], v[index]) for k, v in state.memory]
        cache = None if state.cache is None else [(k[index], v[index]) for k, v in state.cache]
        return Seq2SeqState(memory, state.keep[index], cache, state.length)
