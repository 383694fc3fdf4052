"""Decoding for language and sequence-to-sequence models: sampling, streaming generation, beam search.

Every model that generates implements one protocol (`Decoder`):

- `begin(src, batch) -> state`: encode the source (B, S) of a seq2seq model; a language model
  takes `src=None` and starts with an empty key/value cache.
- `next_logits(tokens (B, t_new), state) -> (logits (B, V), state)`: feed new tokens (first the
  prompt or [bos], then one a step) and get the next-token logits at the last position.
- `reorder(state, index (B',)) -> state`: keep / repeat rows of the state (beam search).

Token ids are int64; the special ids are pad=0, unk=1, bos=2, eos=3 in every vocabulary.
Call `model.eval()` first: generation does not switch dropout off by itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

import torch

from neuronet.errors import ConfigError
from neuronet.params import InstanceOf, Interval, NoneOk, validate_params

__all__ = ["Decoder", "PAD", "UNK", "BOS", "EOS", "sample_next", "filter_logits", "generate", "beam_search"]

PAD, UNK, BOS, EOS = 0, 1, 2, 3


class Decoder(Protocol):
    """What `generate` and `beam_search` need from a model."""

    def begin(self, src: torch.Tensor | None, batch: int) -> Any: ...

    def next_logits(self, tokens: torch.Tensor, state: Any) -> tuple[torch.Tensor, Any]: ...

    def reorder(self, state: Any, index: torch.Tensor) -> Any: ...


_SAMPLING = {
    "temperature": [Interval(float, 0, None, closed="left")],
    "top_k": [Interval(int, 1, None, closed="left"), NoneOk()],
    "top_p": [Interval(float, 0, 1, closed="right"), NoneOk()],
}


def filter_logits(logits: torch.Tensor, top_k: int | None = None, top_p: float | None = None) -> torch.Tensor:
    """Set to -inf the logits outside the top k and outside the nucleus (top p), as Hugging Face does.

    Top-k keeps every logit >= the k-th largest (ties kept). Top-p keeps the smallest set of
    most-likely tokens whose probabilities add up to more than p (at least one token is kept).

    Args:
        logits: (B, V), already divided by the temperature.
        top_k: Keep this many most likely tokens (None: all).
        top_p: Keep the nucleus of probability mass p, in (0, 1] (None: all).

    Returns:
        (B, V) logits with the removed tokens at -inf.

    Example:
        >>> filter_logits(torch.tensor([[1.0, 3.0, 2.0]]), top_k=2)
        tensor([[-inf, 3., 2.]])
    """
    if top_k is not None:
        k = min(top_k, logits.shape[-1])
        kth = torch.topk(logits, k, dim=-1).values[..., -1:]  # (B, 1)
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p is not None and top_p < 1.0:
        sorted_logits, sorted_index = torch.sort(logits, dim=-1, descending=False)  # least likely first
        cumulative = sorted_logits.softmax(dim=-1).cumsum(dim=-1)  # (B, V)
        remove = cumulative <= (1 - top_p)
        remove[..., -1:] = False  # the most likely token always stays
        logits = logits.masked_fill(remove.scatter(-1, sorted_index, remove), float("-inf"))
    return logits


def sample_next(logits: torch.Tensor, temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None,
                generator: torch.Generator | None = None) -> torch.Tensor:
    """Pick the next token of each row from its logits.

    Args:
        logits: (B, V) next-token logits.
        temperature: Divide the logits by it before sampling; 0 picks the most likely token (greedy).
        top_k: Sample among the k most likely tokens only.
        top_p: Sample among the nucleus of probability mass top_p only, in (0, 1].
        generator: The random generator (seeded: the same tokens every time).

    Returns:
        (B,) int64 token ids.

    Raises:
        ConfigError: temperature < 0, top_k < 1 or top_p outside (0, 1].

    Example:
        >>> sample_next(torch.tensor([[0.1, 2.0, 0.3]]), temperature=0)
        tensor([1])
    """
    validate_params(_SAMPLING, {"temperature": temperature, "top_k": top_k, "top_p": top_p}, "sample_next")
    return _pick(logits, temperature, top_k, top_p, generator)


def _pick(logits: torch.Tensor, temperature: float, top_k: int | None, top_p: float | None,
          generator: torch.Generator | None) -> torch.Tensor:
    """`sample_next` without checking its arguments again (generate checks them once)."""
    if temperature == 0:
        return logits.argmax(dim=-1)
    logits = filter_logits(logits.float() / temperature, top_k, top_p)
    return torch.multinomial(logits.softmax(dim=-1), 1, generator=generator).squeeze(-1)  # (B,)


def generate(model: Decoder, prompt: torch.Tensor, max_tokens: int, temperature: float = 1.0, top_k: int | None = None,
             top_p: float | None = None, generator: torch.Generator | None = None, eos: int | None = None,
             src: torch.Tensor | None = None, use_cache: bool = True) -> Iterator[torch.Tensor]:
    """Generate tokens one at a time, yielding each new one as soon as it is made (streaming).

    Rows that have produced `eos` go on yielding pad (0) until every row has, then generation stops.
    Batched greedy translation is `generate(model, bos_column, n, temperature=0, eos=EOS, src=src)`.

    Args:
        model: A model following the decoding protocol (GPT, TransformerSeq2Seq, RNNSeq2Seq).
        prompt: (B, t) int64 tokens to continue (a seq2seq model: the [bos] column).
        max_tokens: The most tokens to generate, >= 1.
        temperature: Sampling temperature; 0 is greedy.
        top_k: Sample among the k most likely tokens.
        top_p: Nucleus sampling mass, in (0, 1].
        generator: Random generator for sampling.
        eos: Stop a row once it produced this id (None: always generate max_tokens).
        src: (B, S) source tokens of a seq2seq model; None for a language model.
        use_cache: Feed only the new token each step (False: recompute the whole sequence each step).

    Returns:
        An iterator of (B,) int64 tensors, one per generated position.

    Raises:
        ConfigError: a bad max_tokens, temperature, top_k or top_p.

    Example:
        >>> from neuronet.models.gpt import GPT
        >>> model = GPT((8,), 20, dim=16, heads=2, layers=1, seed=0).eval()
        >>> tokens = list(generate(model, torch.tensor([[2, 5]]), max_tokens=4, temperature=0))
        >>> len(tokens), tokens[0].shape
        (4, torch.Size([1]))
    """
    validate_params({"max_tokens": [Interval(int, 1, None)], "prompt": [InstanceOf(torch.Tensor, "a tensor")],
                     **_SAMPLING}, {"max_tokens": max_tokens, "prompt": prompt, "temperature": temperature,
                                    "top_k": top_k, "top_p": top_p}, "generate")
    return _generate(model, prompt, max_tokens, temperature, top_k, top_p, generator, eos, src, use_cache)


def _generate(model: Decoder, prompt: torch.Tensor, max_tokens: int, temperature: float, top_k: int | None,
              top_p: float | None, generator: torch.Generator | None, eos: int | None, src: torch.Tensor | None,
              use_cache: bool) -> Iterator[torch.Tensor]:
    """The generator behind `generate` (arguments already checked, so that a bad one fails at the call)."""
    batch = prompt.shape[0]
    seq = prompt
    with torch.no_grad():
        logits, state = model.next_logits(prompt, model.begin(src, batch))
    done = torch.zeros(batch, dtype=torch.bool, device=prompt.device)
    for step in range(max_tokens):
        with torch.no_grad():
            token = _pick(logits, temperature, top_k, top_p, generator)
            if eos is not None:
                token = token.masked_fill(done, PAD)
                done = done | (token == eos)
        yield token
        if bool(done.all()) or step == max_tokens - 1:
            return
        with torch.no_grad():
            if use_cache:
                logits, state = model.next_logits(token[:, None], state)
            else:  # the whole sequence again, from an empty state
                seq = torch.cat([seq, token[:, None]], dim=1)
                logits, _ = model.next_logits(seq, model.begin(src, batch))


def beam_search(model: Decoder, prompt: torch.Tensor, beam: int = 4, max_tokens: int = 50, eos: int = EOS,
                length_penalty: float = 1.0, src: torch.Tensor | None = None) -> list[tuple[list[int], float]]:
    """Beam search for the most likely continuations of one prompt, best first.

    Each step every live hypothesis is extended by every token; the best `beam - finished`
    extensions survive, and those ending in `eos` are finished (so `beam=1` is greedy decoding).
    Hypotheses are ranked by sum of log-probabilities / length ** length_penalty (GNMT / Hugging
    Face), the length counting generated tokens and the eos.

    Args:
        model: A model following the decoding protocol.
        prompt: (1, t) int64 tokens (a seq2seq model: [[bos]]).
        beam: Beam width, >= 1.
        max_tokens: The most tokens to generate, >= 1.
        eos: The end-of-sequence id.
        length_penalty: Exponent of the length normalisation (0: raw sum, favours short outputs).
        src: (1, S) source tokens of a seq2seq model.

    Returns:
        Up to `beam` (generated tokens, score) pairs, best first; tokens end with eos when finished.

    Raises:
        ConfigError: beam < 1, max_tokens < 1 or a prompt of more than one row.

    Example:
        >>> from neuronet.models.gpt import GPT
        >>> model = GPT((8,), 20, dim=16, heads=2, layers=1, seed=0).eval()
        >>> best, score = beam_search(model, torch.tensor([[2]]), beam=2, max_tokens=3)[0]
        >>> len(best) <= 3
        True
    """
    validate_params({"beam": [Interval(int, 1, None)], "max_tokens": [Interval(int, 1, None)],
                     "length_penalty": [Interval(float, None, None)]},
                    {"beam": beam, "max_tokens": max_tokens, "length_penalty": length_penalty}, "beam_search")
    if prompt.ndim != 2 or prompt.shape[0] != 1:
        raise ConfigError(f"The 'prompt' parameter of beam_search must be a (1, t) tensor of one row. Got a tensor "
                          f"shaped {tuple(prompt.shape)} instead.")
    finished: list[tuple[list[int], float]] = []
    with torch.no_grad():
        logits, state = model.next_logits(prompt, model.begin(src, 1))
        tokens: list[list[int]] = [[]]  # the live hypotheses
        sums = torch.zeros(1, device=prompt.device)  # (live,) their sum of log-probabilities
        for step in range(max_tokens):
            scores = sums[:, None] + logits.float().log_softmax(dim=-1)  # (live, V)
            alive = beam - len(finished)
            best, flat = scores.flatten().topk(min(alive, scores.numel()))
            rows, ids = flat // scores.shape[1], flat % scores.shape[1]
            keep = []
            for score, row, token in zip(best.tolist(), rows.tolist(), ids.tolist()):
                hypothesis = tokens[row] + [token]
                if token == eos:
                    finished.append((hypothesis, score / len(hypothesis) ** length_penalty))
                else:
                    keep.append((row, hypothesis, score))
            if not keep or step == max_tokens - 1:
                finished += [(h, s / len(h) ** length_penalty) for _, h, s in keep]
                break
            index = torch.tensor([row for row, _, _ in keep], device=prompt.device)
            tokens, sums = [h for _, h, _ in keep], torch.tensor([s for _, _, s in keep], device=prompt.device)
            state = model.reorder(state, index)
            last = torch.tensor([[h[-1]] for h in tokens], device=prompt.device)  # (live, 1)
            logits, state = model.next_logits(last, state)
    return sorted(finished, key=lambda pair: -pair[1])

