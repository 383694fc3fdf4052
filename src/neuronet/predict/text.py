"""Text out of a trained language or translation model: generation (streamed), chat turns, translation.

The model decodes one token at a time with its key/value cache (`neuronet.models.decoding`);
the run's own tokenizers turn text into token ids and back. Stop strings and the token limit
end a generation; the same seed gives the same text.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from neuronet.datasets.subword import BOS, EOS
from neuronet.errors import ConfigError, DataError
from neuronet.params import shown

__all__ = ["Decoding", "stream_text", "translate_ids"]


def _check(name: str, value: Any, ok: bool, want: str) -> None:
    if not ok:
        raise ConfigError(f"The '{name}' of generate must be {want}. Got {shown(value, 40)} instead.")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass
class Decoding:
    """How to decode: the token limit, sampling (temperature, top-k, top-p) or beam search, the seed, stop strings.

    Args:
        max_tokens: Tokens to generate at most.
        temperature: 0 is greedy (always the most likely token); higher is more varied.
        top_k: Sample among the k most likely tokens only (None: all).
        top_p: Sample among the most likely tokens whose probabilities add up to p (nucleus; None: all).
        beam: Beams of beam search (1: no beam search); with beams, sampling options are not used.
        length_penalty: Beam scores are log-probabilities divided by length ** length_penalty.
        seed: Seeds the sampling: the same seed gives the same text.
        num: Texts to generate from the same prompt.
        stop: Generation ends before the first of these strings.

    Raises:
        ConfigError: a value out of range, in one sentence.
    """

    max_tokens: int = 200
    temperature: float = 0.8
    top_k: int | None = None
    top_p: float | None = None
    beam: int = 1
    length_penalty: float = 1.0
    seed: int = 0
    num: int = 1
    stop: Sequence[str] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        _check("max_tokens", self.max_tokens, _is_int(self.max_tokens) and 1 <= self.max_tokens <= 100_000,
               "an int in [1, 100000]")
        _check("temperature", self.temperature, isinstance(self.temperature, (int, float)) and not isinstance(
            self.temperature, bool) and 0 <= self.temperature <= 100, "a float in [0, 100]")
        _check("top_k", self.top_k, self.top_k is None or (_is_int(self.top_k) and self.top_k >= 1), "an int >= 1")
        _check("top_p", self.top_p, self.top_p is None or (isinstance(self.top_p, (int, float)) and not isinstance(
            self.top_p, bool) and 0 < self.top_p <= 1), "a float in (0, 1]")
        _check("beam", self.beam, _is_int(self.beam) and 1 <= self.beam <= 64, "an int in [1, 64]")
        _check("num", self.num, _is_int(self.num) and 1 <= self.num <= 64, "an int in [1, 64]")
        _check("seed", self.seed, _is_int(self.seed) and 0 <= self.seed < 2**63, "an int >= 0")
        _check("length_penalty", self.length_penalty, isinstance(self.length_penalty, (int, float)) and not isinstance(
            self.length_penalty, bool) and -10 <= self.length_penalty <= 10, "a float in [-10, 10]")
        if isinstance(self.stop, str):
            self.stop = (self.stop,)
        _check("stop", list(self.stop), all(isinstance(s, str) and s for s in self.stop), "a list of non-empty strings")
        if self.beam > 1 and self.num > self.beam:
            raise ConfigError(f"Beam search with {self.beam} beams returns at most {self.beam} texts; num is {self.num}.")


def prompt_ids(tokenizer: Any, prompt: str) -> list[int]:
    """`<eos>` (where every training document starts) and the prompt's tokens.

    Raises:
        DataError: characters the tokenizer never saw in training (character-level models).
    """
    if not isinstance(prompt, str):
        raise DataError(f"A prompt must be a text; got {shown(prompt, 60)}.")
    unknown = tokenizer.unknown(prompt)
    if unknown:
        shown_chars = ", ".join(repr(c) for c in unknown[:8])
        raise DataError(f"The prompt holds {len(unknown)} character(s) this model never saw in training ({shown_chars}"
                        f"{' ...' if len(unknown) > 8 else ''}); use the characters of its training text.")
    return [EOS, *tokenizer.encode([prompt])[0]]


def _stopped(text: str, stop: Sequence[str]) -> int | None:
    """Where the first stop string begins in `text` (None: none there)."""
    found = [text.find(s) for s in stop if s in text]
    return min(found) if found else None


@torch.no_grad()
def stream_text(model: Any, tokenizer: Any, prompt: str, options: Decoding) -> Iterator[str]:
    """The text generated after `prompt`, piece by piece as the tokens come (one sample, or the best beam).

    Pieces are whole characters (a byte-level token that ends inside a character waits for the rest).
    """
    from neuronet.models.decoding import beam_search, generate

    ids = prompt_ids(tokenizer, prompt)
    device = next(model.parameters()).device
    start = torch.tensor([ids], device=device)
    if options.beam > 1:
        best = beam_search(model, start, beam=options.beam, max_tokens=options.max_tokens, eos=EOS,
                           length_penalty=options.length_penalty)
        tokens: Iterator[int] = iter(best[0][0])
    else:
        generator = torch.Generator(device=device).manual_seed(options.seed)
        tokens = (int(t[0]) for t in generate(model, start, options.max_tokens, temperature=options.temperature,
                                              top_k=options.top_k, top_p=options.top_p, generator=generator, eos=EOS))
    out: list[int] = []
    sent, text = "", ""
    for token in tokens:
        if token == EOS:
            break
        out.append(token)
        text = tokenizer.decode(out)
        cut = _stopped(text, options.stop)
        if cut is not None:
            yield text[len(sent):cut]
            return
        if text.endswith("\ufffd"):  # a character whose bytes are not all here yet
            continue
        safe = len(text) - _held_back(text, options.stop)  # the end of the text may be a stop string's start
        if safe > len(sent):
            yield text[len(sent):safe]
            sent = text[:safe]
    if len(text) > len(sent) and not text.endswith("\ufffd"):
        yield text[len(sent):]


def _held_back(text: str, stop: Sequence[str]) -> int:
    """How many characters at the end of `text` could begin a stop string (not sent until the next tokens say)."""
    return max((k for s in stop for k in range(min(len(s) - 1, len(text)), 0, -1) if text.endswith(s[:k])), default=0)


def generate_texts(model: Any, tokenizer: Any, prompt: str, options: Decoding) -> list[str]:
    """`options.num` texts generated after `prompt` (samples with seeds seed, seed+1, ...; or the best beams)."""
    if options.beam > 1 and options.num > 1:
        from neuronet.models.decoding import beam_search

        device = next(model.parameters()).device
        beams = beam_search(model, torch.tensor([prompt_ids(tokenizer, prompt)], device=device), beam=options.beam,
                            max_tokens=options.max_tokens, eos=EOS, length_penalty=options.length_penalty)
        return [_cut(tokenizer.decode([t for t in ids if t != EOS]), options.stop) for ids, _ in beams[: options.num]]
    texts = []
    for i in range(options.num):
        one = Decoding(**{**options.__dict__, "seed": options.seed + i, "num": 1})
        texts.append("".join(stream_text(model, tokenizer, prompt, one)))
    return texts


def _cut(text: str, stop: Sequence[str]) -> str:
    at = _stopped(text, stop)
    return text if at is None else text[:at]


@torch.no_grad()
def translate_ids(model: Any, sources: torch.Tensor, max_tokens: int, beam: int = 1,
                  length_penalty: float = 1.0, batch_size: int = 256) -> list[list[int]]:
    """Target token ids for each source row (N, S): batched greedy decoding, or beam search row by row."""
    from neuronet.models.decoding import beam_search, generate
    from neuronet.tasks.language import trimmed

    device = next(model.parameters()).device
    out: list[list[int]] = []
    for chunk in sources.split(batch_size):
        chunk = trimmed(chunk).to(device)  # as wide as its longest sentence
        if beam > 1:
            for row in chunk:
                best = beam_search(model, torch.tensor([[BOS]], device=device), beam=beam, max_tokens=max_tokens,
                                   eos=EOS, length_penalty=length_penalty, src=row[None])
                out.append([t for t in best[0][0] if t != EOS])
            continue
        rows: list[list[int]] = [[] for _ in range(len(chunk))]
        done = torch.zeros(len(chunk), dtype=torch.bool, device=device)
        start = torch.full((len(chunk), 1), BOS, dtype=torch.long, device=device)
        for step in generate(model, start, max_tokens, temperature=0.0, eos=EOS, src=chunk):
            for i, token in enumerate(step.tolist()):
                if not done[i] and token != EOS:
                    rows[i].append(token)
            done |= step == EOS
            if bool(done.all()):
                break
        out += rows
    return out
