"""A Transformer encoder: embeddings + positions, multi-head self-attention, feed-forward, layer norm.

Attention runs through PyTorch's `scaled_dot_product_attention`; with `return_attention=True`
the weights are computed explicitly (same numbers) so they can be plotted.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from neuronet.models.registry import MODELS, as_shape, init_seed

__all__ = ["MultiHeadSelfAttention", "EncoderBlock", "TransformerEncoder"]


class MultiHeadSelfAttention(nn.Module):
    """softmax(Q Kᵀ / √d) V in `heads` heads, padding keys masked out.

    Example:
        >>> attn = MultiHeadSelfAttention(8, 2)
        >>> out, weights = attn(torch.zeros(3, 5, 8), need_weights=True)
        >>> out.shape, weights.shape
        (torch.Size([3, 5, 8]), torch.Size([3, 2, 5, 5]))
    """

    def __init__(self, dim: int, heads: int, dropout: float = 0.0) -> None:
        super().__init__()
        if dim % heads:
            raise ValueError(f"dim ({dim}) must be divisible by heads ({heads})")
        self.heads, self.dropout = heads, dropout
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, pad_mask: torch.Tensor | None = None,
                need_weights: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
        """x (B, T, C); pad_mask (B, T), True where padding. Returns output and (B, h, T, T) weights."""
        b, t, c = x.shape
        q, k, v = self.qkv(x).view(b, t, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)  # 3 x (B, h, T, d)
        keep = None if pad_mask is None else ~pad_mask[:, None, None, :]  # (B, 1, 1, T): True = attend
        p = self.dropout if self.training else 0.0
        if need_weights:
            scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])  # (B, h, T, T)
            if keep is not None:
                scores = scores.masked_fill(~keep, float("-inf"))
            weights = scores.softmax(dim=-1)
            out = F.dropout(weights, p) @ v
        else:
            weights = None
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=keep, dropout_p=p)
        return self.proj(out.transpose(1, 2).reshape(b, t, c)), weights  # (B, T, C)


class EncoderBlock(nn.Module):
    """Pre-norm Transformer block: x + attention(norm(x)), then x + feed-forward(norm(x))."""

    def __init__(self, dim: int, heads: int, ff_dim: int, dropout: float) -> None:
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.attn = MultiHeadSelfAttention(dim, heads, dropout)
        self.ff = nn.Sequential(nn.Linear(dim, ff_dim), nn.GELU(), nn.Dropout(dropout), nn.Linear(ff_dim, dim))
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, pad_mask: torch.Tensor | None = None,
                need_weights: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
        attended, weights = self.attn(self.norm1(x), pad_mask, need_weights)
        x = x + self.drop(attended)
        return x + self.drop(self.ff(self.norm2(x))), weights


@MODELS.register("transformer", "Transformer encoder: self-attention over tokens or time steps; classification or forecasting.")
class TransformerEncoder(nn.Module):
    """Token (or value) embeddings + learned positions → encoder blocks → pooled head.

    Args:
        input_shape: (T,) for token ids, (T, F) for float sequences.
        num_outputs: Classes, targets or forecast horizon.
        dim: Model width.
        heads: Attention heads.
        layers: Encoder blocks.
        ff_dim: Feed-forward width (default 4 * dim).
        dropout: Dropout in attention, feed-forward and embeddings.
        pooling: "mean" over non-padding positions (classification) or "last" (forecasting).
        residual: Forecast relative to the last input value (float inputs): inputs are shifted
            so that the last step is 0, and the last value of feature 0 is added back.
        vocab_size: Vocabulary size for token ids (else float inputs).
        pad_index: The padding token id.
        seed: Seed for the initial weights.

    Example:
        >>> model = TransformerEncoder((12,), 3, dim=16, heads=2, vocab_size=50, seed=0)
        >>> logits, attention = model(torch.randint(1, 50, (4, 12)), return_attention=True)
        >>> logits.shape, len(attention), attention[0].shape
        (torch.Size([4, 3]), 2, torch.Size([4, 2, 12, 12]))
    """

    layouts: ClassVar[tuple[str, ...]] = ("sequence", "tokens")  # the inputs it reads

    def __init__(self, input_shape: Sequence[int], num_outputs: int, dim: int = 64, heads: int = 4, layers: int = 2,
                 ff_dim: int | None = None, dropout: float = 0.1, pooling: str = "mean", residual: bool = False,
                 vocab_size: int | None = None, pad_index: int = 0, seed: int | None = None) -> None:
        super().__init__()
        shape = as_shape(input_shape)
        if pooling not in ("mean", "last"):
            raise ValueError(f"pooling must be 'mean' or 'last', got {pooling!r}")
        self.hparams = {"dim": dim, "heads": heads, "layers": layers, "ff_dim": ff_dim, "dropout": dropout,
                        "pooling": pooling, "residual": residual, "seed": seed}
        self.tokens, self.pad_index, self.pooling, self.residual = vocab_size is not None, pad_index, pooling, residual
        with init_seed(seed):
            self.embed = nn.Embedding(vocab_size, dim, padding_idx=pad_index) if self.tokens else nn.Linear(shape[-1], dim)
            self.position = nn.Embedding(shape[0], dim)
            self.drop = nn.Dropout(dropout)
            self.blocks = nn.ModuleList(EncoderBlock(dim, heads, ff_dim or 4 * dim, dropout) for _ in range(layers))
            self.norm = nn.LayerNorm(dim)
            self.head = nn.Linear(dim, num_outputs)

    def forward(self, x: torch.Tensor, return_attention: bool = False):
        pad_mask = (x == self.pad_index) if self.tokens else None  # (B, T), True at padding
        if self.residual:  # forecast the change from the last step (see `residual`)
            level = x[:, -1:, :]
            x = x - level
        positions = torch.arange(x.shape[1], device=x.device)
        h = self.drop(self.embed(x) + self.position(positions))  # (B, T, C)
        attention = []
        for block in self.blocks:
            h, weights = block(h, pad_mask, return_attention)
            attention.append(weights)
        h = self.norm(h)
        if self.pooling == "last":
            pooled = h[:, -1]
        elif pad_mask is None:
            pooled = h.mean(dim=1)
        else:  # mean over real tokens only
            keep = (~pad_mask).unsqueeze(-1).to(h.dtype)
            pooled = (h * keep).sum(dim=1) / keep.sum(dim=1).clamp(min=1)
        out = self.head(pooled)  # (B, num_outputs)
        if self.residual:
            out = out + level[:, 0, :1]
        return (out, attention) if return_attention else out
