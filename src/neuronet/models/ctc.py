"""Reading a CTC model's outputs: per-frame log-probabilities over an alphabet plus a blank → label sequences.

A CTC (connectionist temporal classification) model emits, for every audio frame, a distribution
over the labels and one extra "blank". A label sequence is read off a frame path by merging
repeated labels and then dropping blanks ("hh-e-ll-llo" → "hello"); many paths give the same
sequence, and its probability is the sum over all of them (what `torch.nn.CTCLoss` trains).

- `ctc_greedy`: the most likely label at each frame, merged — fast, and what most models need.
- `ctc_beam_search`: prefix beam search (Hannun et al., 2014; the Keras CTC example's "beam"
  decoder): keeps the `beam` most likely label prefixes, each scored with the total probability of
  every path that yields it so far, so a sequence spread over many paths can beat the single best
  path.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np
import torch

__all__ = ["Lexicon", "ctc_beam_search", "ctc_greedy", "merge_path"]

NEG_INF = -math.inf


def merge_path(path: Sequence[int], blank: int = 0) -> list[int]:
    """The label sequence of one frame path: repeats merged, then blanks dropped.

    Example:
        >>> merge_path([1, 1, 0, 2, 2, 0, 2, 0])  # a blank between two 2s keeps both
        [1, 2, 2]
    """
    out: list[int] = []
    previous = None
    for label in path:
        if label != previous and label != blank:
            out.append(int(label))
        previous = label
    return out


def ctc_greedy(log_probs: torch.Tensor, lengths: Sequence[int] | torch.Tensor | None = None,
               blank: int = 0) -> list[list[int]]:
    """The best-path decoding of each sequence in a batch.

    Args:
        log_probs: (B, T, C) per-frame (log-)probabilities; C includes the blank.
        lengths: Frames that are real in each row (the rest is padding); None: all T.
        blank: The blank's index.

    Returns:
        One label list per row.

    Example:
        >>> frames = torch.tensor([[[0.1, 0.8, 0.1], [0.1, 0.8, 0.1], [0.9, 0.05, 0.05], [0.1, 0.1, 0.8]]]).log()
        >>> ctc_greedy(frames)
        [[1, 2]]
    """
    best = log_probs.argmax(dim=-1).cpu()  # (B, T)
    sizes = [best.shape[1]] * len(best) if lengths is None else [int(n) for n in lengths]
    return [merge_path(row[:n].tolist(), blank) for row, n in zip(best, sizes)]


def _add(*values: float) -> float:
    """log(sum(exp(values))) of a few numbers, -inf when all are."""
    top = max(values)
    if top == NEG_INF:
        return NEG_INF
    return top + math.log(sum(math.exp(v - top) for v in values))


class Lexicon:
    """The words a transcript may hold, as label sequences, for `ctc_beam_search`: a word grows only along a
    listed word, and a space (or the end) may follow only a whole one.

    Args:
        words: Each word's labels (no spaces).
        space: The label of the space between words.

    Example:
        >>> lexicon = Lexicon([[3, 4], [3]], space=1)
        >>> lexicon.allows((3,), 4), lexicon.allows((3, 4), 4), lexicon.allows((3, 4), 1), lexicon.allows((), 1)
        (True, False, True, False)
    """

    def __init__(self, words: Iterable[Sequence[int]], space: int = 1) -> None:
        self.space = space
        self.words = {tuple(int(c) for c in w) for w in words if len(w)}
        if any(space in w for w in self.words):
            raise ValueError("a word of a lexicon holds the space label")
        self.prefixes = {w[:i] for w in self.words for i in range(1, len(w) + 1)}

    def allows(self, word: tuple[int, ...], label: int) -> bool:
        """Whether `label` may follow the current (partial) word `word`."""
        if label == self.space:
            return word in self.words
        return (*word, label) in self.prefixes

    def __len__(self) -> int:
        return len(self.words)


def ctc_beam_search(log_probs: torch.Tensor | np.ndarray, beam: int = 8, blank: int = 0,
                    prune: float | None = -12.0, lexicon: Lexicon | None = None) -> list[tuple[list[int], float]]:
    """Prefix beam search over one sequence's frames.

    Each prefix carries two log-probabilities: of the paths so far that end in a blank, and of
    those that end in its last label; a label equal to the prefix's last one extends the prefix
    only after a blank (otherwise the two merge). With a beam wider than the number of prefixes,
    each score is the exact log-probability of its label sequence given the frames seen.

    Args:
        log_probs: (T, C) log-probabilities of one sequence (its real frames only).
        beam: Prefixes kept after each frame.
        blank: The blank's index.
        prune: Labels whose log-probability at a frame is below this are not tried there (None: all).
        lexicon: Only sequences of its words (None: any labels). The prefixes that end inside a word
            are dropped at the end, unless no other is left.

    Returns:
        [(labels, log-probability)], the most likely first, at most `beam` of them.

    Example:
        >>> frames = torch.tensor([[0.4, 0.6], [0.4, 0.6]]).log()  # blank 0, label 1, two frames
        >>> [(labels, round(math.exp(score), 2)) for labels, score in ctc_beam_search(frames, beam=4)]
        [([1], 0.84), ([], 0.16)]
    """
    if beam < 1:
        raise ValueError(f"beam must be at least 1, got {beam}")
    frames = log_probs.detach().cpu().double().numpy() if isinstance(log_probs, torch.Tensor) else \
        np.asarray(log_probs, dtype=np.float64)
    beams: dict[tuple[int, ...], tuple[float, float]] = {(): (0.0, NEG_INF)}  # prefix: (ends in blank, ends in label)
    word_of: dict[tuple[int, ...], tuple[int, ...]] = {(): ()}  # each prefix's last (partial) word, for the lexicon
    for row in frames:
        labels = range(len(row)) if prune is None else [c for c in range(len(row)) if row[c] >= prune or c == blank]
        grown: dict[tuple[int, ...], tuple[float, float]] = {}

        def extend(prefix: tuple[int, ...], with_blank: float = NEG_INF, with_label: float = NEG_INF) -> None:
            old_blank, old_label = grown.get(prefix, (NEG_INF, NEG_INF))
            grown[prefix] = (_add(old_blank, with_blank), _add(old_label, with_label))

        for prefix, (p_blank, p_label) in beams.items():
            for c in labels:
                p = float(row[c])
                if c == blank:  # the prefix stays; its paths now end in a blank
                    extend(prefix, with_blank=_add(p_blank, p_label) + p)
                    continue
                repeat = bool(prefix) and c == prefix[-1]
                if repeat:
                    extend(prefix, with_label=p_label + p)  # the same label again: merged into the last one
                if lexicon is not None:
                    if not lexicon.allows(word_of[prefix], c):
                        continue
                    word_of.setdefault((*prefix, c), () if c == lexicon.space else (*word_of[prefix], c))
                if repeat:
                    extend((*prefix, c), with_label=p_blank + p)  # after a blank: a new, repeated label
                else:
                    extend((*prefix, c), with_label=_add(p_blank, p_label) + p)
        ranked = sorted(((k, v) for k, v in grown.items() if _add(*v) > NEG_INF), key=lambda item: _add(*item[1]),
                        reverse=True)  # (a prefix reached by no path is not kept)
        beams = dict(ranked[:beam])
    found = [(list(prefix), _add(*scores)) for prefix, scores in beams.items()]
    if lexicon is not None:  # the transcript may not end inside a word
        whole = [(labels, score) for labels, score in found if not word_of[tuple(labels)] or
                 word_of[tuple(labels)] in lexicon.words]
        found = whole or found
    return found
