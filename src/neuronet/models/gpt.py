"""GPT: a decoder-only Transformer language model, read top to bottom like nanoGPT's model.py.

token embedding (+ learned positions, or rotary positions inside attention) → `layers` pre-LayerNorm
blocks (causal self-attention, GELU MLP 4x) → final LayerNorm → LM head tied to the token embedding.

Generation follows the decoding protocol of `neuronet.models.decoding`: `begin` gives an empty
key/value cache, `next_logits` feeds new tokens through it, `reorder` selects rows for beam search.
Past `block_size` tokens the model recomputes on the last `block_size` (nanoGPT's crop).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from neuronet.models.registry import MODELS, as_shape, init_seed

__all__ = ["GPT", "GPTState", "Block", "CausalSelfAttention", "apply_rotary"]

KV = tuple[torch.Tensor, torch.Tensor]  # keys, values: (B, h, T, d) each


def apply_rotary(x: torch.Tensor, positions: torch.Tensor, base: float = 10000.0) -> torch.Tensor:
    """Rotary position embedding (RoPE): rotate pairs of channels by angles proportional to the position.

    Channel i is paired with channel i + d/2 (the GPT-NeoX / Llama layout) and turned by
    `position * base ** (-2i / d)`, so that a query at m and a key at n score as a function of m - n.

    Args:
        x: Queries or keys, (B, h, T, d) with d even.
        positions: Absolute positions of the T steps, (T,).
        base: The wavelength base.

    Returns:
        The rotated tensor, same shape and dtype.

    Example:
        >>> q = torch.randn(1, 1, 4, 8)
        >>> torch.allclose(apply_rotary(q, torch.zeros(4)), q)
        True
    """
    d = x.shape[-1]
    inv_freq = base ** (-torch.arange(0, d, 2, device=x.device, dtype=torch.float64) / d)  # (d/2,)
    angles = positions.to(torch.float64)[:, None] * inv_freq[None, :]  # (T, d/2)
    angles = torch.cat([angles, angles], dim=-1)  # (T, d)
    cos, sin = angles.cos().to(x.dtype), angles.sin().to(x.dtype)
    x1, x2 = x[..., : d // 2], x[..., d // 2:]
    rotated_half = torch.cat([-x2, x1], dim=-1)  # (B, h, T, d)
    return x * cos + rotated_half * sin


class CausalSelfAttention(nn.Module):
    """Multi-head causal self-attention with an optional key/value cache.

    Example:
        >>> attn = CausalSelfAttention(16, 2, 0.0)
        >>> y, (k, v) = attn(torch.zeros(3, 5, 16))
        >>> y.shape, k.shape
        (torch.Size([3, 5, 16]), torch.Size([3, 2, 5, 8]))
    """

    def __init__(self, dim: int, heads: int, dropout: float, bias: bool = False, rotary: bool = False) -> None:
        super().__init__()
        if dim % heads:
            raise ValueError(f"dim ({dim}) must be divisible by heads ({heads})")
        if rotary and (dim // heads) % 2:
            raise ValueError(f"rotary positions need an even head size; dim / heads is {dim // heads}")
        self.heads, self.dropout, self.rotary = heads, dropout, rotary
        self.c_attn = nn.Linear(dim, 3 * dim, bias=bias)  # query, key, value for all heads at once
        self.c_proj = nn.Linear(dim, dim, bias=bias)
        self.resid_drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, past: KV | None = None,
                need_weights: bool = False) -> tuple[torch.Tensor, KV] | tuple[torch.Tensor, KV, torch.Tensor]:
        """x (B, T, C) at positions past_len..past_len+T-1; returns (B, T, C) and the keys/values so far
        (and, with `need_weights` and no cache, the attention weights (B, h, T, T), rows summing to 1)."""
        b, t, c = x.shape
        past_len = 0 if past is None else past[0].shape[2]
        q, k, v = self.c_attn(x).view(b, t, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)  # 3 x (B, h, T, d)
        if self.rotary:
            positions = torch.arange(past_len, past_len + t, device=x.device)
            q, k = apply_rotary(q, positions), apply_rotary(k, positions)
        if past is not None:
            k, v = torch.cat([past[0], k], dim=2), torch.cat([past[1], v], dim=2)  # (B, h, past+T, d)
        p = self.dropout if self.training else 0.0
        if need_weights and past is not None:
            raise ValueError("Attention weights are computed without a key/value cache; pass past=None.")
        if need_weights or (past_len == 0 and q.dtype == torch.bfloat16 and q.device.type == "cpu"):
            # softmax(q kᵀ / √d) v written out: the weights themselves, for attention maps; and in bfloat16 on a
            # CPU, where its matrix products are fast (AMX) but the backward of PyTorch's CPU flash attention in
            # bfloat16 is about 5x slower than in float32 (bench/lm.py trains this way)
            scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])  # (B, h, T, T)
            future = torch.ones(t, t, dtype=torch.bool, device=x.device).triu(1)
            weights = scores.float().masked_fill(future, float("-inf")).softmax(dim=-1).to(v.dtype)
            y = (F.dropout(weights, p) @ v).transpose(1, 2).reshape(b, t, c)
            out = self.resid_drop(self.c_proj(y))
            return (out, (k, v), weights) if need_weights else (out, (k, v))
        if past_len == 0:
            y = F.scaled_dot_product_attention(q, k, v, dropout_p=p, is_causal=True)
        elif t == 1:  # one new query sees every key
            y = F.scaled_dot_product_attention(q, k, v, dropout_p=p)
        else:  # query i (at past_len + i) sees keys 0..past_len + i
            keys = torch.arange(past_len + t, device=x.device)
            mask = keys[None, :] <= (past_len + torch.arange(t, device=x.device))[:, None]  # (T, past+T)
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p)
        y = y.transpose(1, 2).reshape(b, t, c)  # (B, T, C): heads side by side
        return self.resid_drop(self.c_proj(y)), (k, v)


class MLP(nn.Module):
    """Linear (4x) → GELU → Linear → dropout."""

    def __init__(self, dim: int, dropout: float, bias: bool = False) -> None:
        super().__init__()
        self.c_fc = nn.Linear(dim, 4 * dim, bias=bias)
        self.gelu = nn.GELU()
        self.c_proj = nn.Linear(4 * dim, dim, bias=bias)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(self.c_proj(self.gelu(self.c_fc(x))))


class Block(nn.Module):
    """Pre-LayerNorm block: x + attention(ln(x)), then x + mlp(ln(x))."""

    def __init__(self, dim: int, heads: int, dropout: float, bias: bool = False, rotary: bool = False) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(dim, bias=bias)
        self.attn = CausalSelfAttention(dim, heads, dropout, bias, rotary)
        self.ln_2 = nn.LayerNorm(dim, bias=bias)
        self.mlp = MLP(dim, dropout, bias)

    def forward(self, x: torch.Tensor, past: KV | None = None) -> tuple[torch.Tensor, KV]:
        attended, kv = self.attn(self.ln_1(x), past)
        x = x + attended
        return x + self.mlp(self.ln_2(x)), kv

    def attention(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The block's output and its attention weights (B, h, T, T), for attention maps."""
        attended, _, weights = self.attn(self.ln_1(x), None, need_weights=True)
        x = x + attended
        return x + self.mlp(self.ln_2(x)), weights


@dataclass
class GPTState:
    """A GPT's decoding state: every token so far (B, t) and each layer's keys/values (None: empty)."""

    tokens: torch.Tensor
    cache: list[KV] | None


@MODELS.register("gpt", "GPT: a decoder-only Transformer language model (nanoGPT); text generation.")
class GPT(nn.Module):
    """A decoder-only Transformer language model (nanoGPT's GPT) with a key/value cache for generation.

    Args:
        input_shape: (block_size,): the longest context the model reads.
        num_outputs: The vocabulary size.
        dim: Model width (embedding size).
        heads: Attention heads (dim must divide by it).
        layers: Transformer blocks.
        dropout: Dropout on embeddings, attention output and MLP.
        positions: "learned" absolute position embeddings, or "rotary" (RoPE in every attention layer).
        tie_weights: Share the token embedding with the LM head.
        bias: Biases in the linear layers and LayerNorms.
        seed: Seed for the initial weights.

    Returns:
        `forward(idx (B, T)) -> logits (B, T, vocab_size)`, T <= block_size.

    Example:
        >>> model = GPT((16,), 50, dim=32, heads=2, layers=2, seed=0)
        >>> model(torch.randint(0, 50, (3, 10))).shape
        torch.Size([3, 10, 50])
    """

    task: ClassVar[str] = "language_modeling"
    layouts: ClassVar[tuple[str, ...]] = ("tokens",)

    def __init__(self, input_shape: Sequence[int], num_outputs: int, dim: int = 128, heads: int = 4, layers: int = 4,
                 dropout: float = 0.1, positions: str = "learned", tie_weights: bool = True, bias: bool = False,
                 seed: int | None = None) -> None:
        super().__init__()
        if positions not in ("learned", "rotary"):
            raise ValueError(f"positions must be 'learned' or 'rotary', got {positions!r}")
        self.hparams = {"dim": dim, "heads": heads, "layers": layers, "dropout": dropout, "positions": positions,
                        "tie_weights": tie_weights, "bias": bias, "seed": seed}
        self.block_size, self.vocab_size = as_shape(input_shape)[0], num_outputs
        rotary = positions == "rotary"
        with init_seed(seed):
            self.wte = nn.Embedding(num_outputs, dim)  # token embedding
            self.wpe = None if rotary else nn.Embedding(self.block_size, dim)  # position embedding
            self.drop = nn.Dropout(dropout)
            self.blocks = nn.ModuleList(Block(dim, heads, dropout, bias, rotary) for _ in range(layers))
            self.ln_f = nn.LayerNorm(dim, bias=bias)
            # weight tying: the head reads the embedding matrix itself (one tensor, so safetensors stores it once)
            self.lm_head = None if tie_weights else nn.Linear(dim, num_outputs, bias=False)
            self.apply(self._init_weights)
            for name, p in self.named_parameters():  # GPT-2: residual projections scaled by 1/sqrt(2 * layers)
                if name.endswith("c_proj.weight"):
                    nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * layers))

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def forward(self, idx: torch.Tensor, return_attention: bool = False):
        """idx (B, T) token ids, T <= block_size → logits (B, T, V); with `return_attention`, also each layer's
        attention weights (B, heads, T, T) in a list (what attention maps show)."""
        if not return_attention:
            logits, _ = self._run(idx, None)
            return logits
        x = self._embed(idx, 0)
        attention = []
        for block in self.blocks:
            x, weights = block.attention(x)
            attention.append(weights)
        return self._head(x), attention

    def _run(self, idx: torch.Tensor, cache: list[KV] | None) -> tuple[torch.Tensor, list[KV]]:
        """idx (B, T) following the cached positions → logits (B, T, V) and the updated cache."""
        x = self._embed(idx, 0 if cache is None else cache[0][0].shape[2])
        new_cache = []
        for i, block in enumerate(self.blocks):
            x, kv = block(x, None if cache is None else cache[i])
            new_cache.append(kv)
        return self._head(x), new_cache

    def _embed(self, idx: torch.Tensor, past_len: int) -> torch.Tensor:
        """Token (+ learned position) embeddings of idx (B, T) at positions past_len.. → (B, T, C)."""
        if past_len + idx.shape[1] > self.block_size:
            raise ValueError(f"Cannot read {past_len + idx.shape[1]} tokens; the block size is {self.block_size}.")
        x = self.wte(idx)  # (B, T, C)
        if self.wpe is not None:
            x = x + self.wpe(torch.arange(past_len, past_len + idx.shape[1], device=idx.device))  # (T, C) broadcast
        return self.drop(x)

    def _head(self, x: torch.Tensor) -> torch.Tensor:
        """Final LayerNorm and the LM head (the token embedding, when tied): (B, T, C) → logits (B, T, V)."""
        head = self.wte.weight if self.lm_head is None else self.lm_head.weight  # (V, C)
        return F.linear(self.ln_f(x), head)

    # --- the decoding protocol (see neuronet.models.decoding) ---

    def begin(self, src: torch.Tensor | None, batch: int) -> GPTState:
        """An empty state for `batch` rows (a language model has no source: `src` must be None)."""
        if src is not None:
            raise ValueError("GPT is a language model and takes no source sequence; pass src=None.")
        return GPTState(torch.zeros(batch, 0, dtype=torch.long, device=self.wte.weight.device), None)

    def next_logits(self, tokens: torch.Tensor, state: GPTState) -> tuple[torch.Tensor, GPTState]:
        """Feed tokens (B, t_new) after those in `state`; return the last position's logits (B, V) and the new state.

        While the sequence fits in block_size, only the new tokens are computed (keys/values of the
        earlier ones come from the cache). Past it, the last block_size tokens are recomputed from
        scratch, exactly what nanoGPT's `generate` does.
        """
        seq = torch.cat([state.tokens, tokens], dim=1)  # (B, t)
        if seq.shape[1] > self.block_size:
            seq = seq[:, -self.block_size:]
            logits, cache = self._run(seq, None)
        else:
            logits, cache = self._run(tokens, state.cache)
        return logits[:, -1], GPTState(seq, cache)

    def reorder(self, state: GPTState, index: torch.Tensor) -> GPTState:
        """Select (or repeat) rows of the state: row i of the result is row index[i]."""
        cache = None if state.cache is None else [(k[index], v[index]) for k, v in state.cache]
        return GPTState(state.tokens[index], cache)
