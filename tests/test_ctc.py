"""CTC decoding: best path and prefix beam search, checked against every frame path by brute force and against
the probability torch.nn.CTCLoss gives a label sequence."""

import itertools
import math
from collections import defaultdict

import pytest
import torch

from neuronet.models.ctc import ctc_beam_search, ctc_greedy, merge_path


def _frames(t: int, c: int, seed: int) -> torch.Tensor:
    return torch.randn(t, c, generator=torch.Generator().manual_seed(seed)).mul(1.5).log_softmax(-1).double()


def _every_sequence(log_probs: torch.Tensor) -> dict[tuple[int, ...], float]:
    """The probability of each label sequence: the sum over every frame path that merges into it."""
    total: dict[tuple[int, ...], float] = defaultdict(float)
    probs = log_probs.exp()
    for path in itertools.product(range(log_probs.shape[1]), repeat=log_probs.shape[0]):
        total[tuple(merge_path(path))] += math.prod(float(probs[t, c]) for t, c in enumerate(path))
    return total


@pytest.mark.parametrize("path, labels", [([], []), ([0, 0], []), ([1, 1, 1], [1]), ([1, 0, 1], [1, 1]),
                                          ([2, 1, 1, 0, 0, 3, 3], [2, 1, 3]), ([0, 4, 0], [4])])
def test_a_path_merges_repeats_then_drops_blanks(path, labels):
    assert merge_path(path) == labels


def test_greedy_reads_the_best_label_of_each_real_frame():
    frames = torch.full((2, 5, 4), -9.0)
    for row, best in enumerate(([1, 1, 0, 1, 3], [2, 0, 2, 2, 2])):
        frames[row, torch.arange(5), torch.tensor(best)] = 0.0
    assert ctc_greedy(frames) == [[1, 1, 3], [2, 2]]
    assert ctc_greedy(frames, lengths=[2, 5]) == [[1], [2, 2]]  # the rest of row 0 is padding


@pytest.mark.parametrize("seed", range(4))
def test_with_a_wide_beam_each_score_is_the_exact_probability_of_its_sequence(seed):
    log_probs = _frames(5, 3, seed)
    exact = _every_sequence(log_probs)
    found = ctc_beam_search(log_probs, beam=1000, prune=None)
    assert len(found) == len(exact)  # every sequence reachable in 5 frames
    for labels, score in found:
        assert math.exp(score) == pytest.approx(exact[tuple(labels)], rel=1e-9)
    assert [labels for labels, _ in found[:3]] == [list(k) for k, _ in sorted(exact.items(), key=lambda i: -i[1])[:3]]


def test_the_score_is_the_probability_ctc_loss_trains():
    log_probs = _frames(9, 4, 7)
    loss = torch.nn.CTCLoss(blank=0, reduction="sum")
    for labels, score in ctc_beam_search(log_probs, beam=400, prune=None)[:5]:
        if not labels:
            continue
        nll = loss(log_probs[:, None], torch.tensor([labels]), torch.tensor([9]), torch.tensor([len(labels)]))
        assert score == pytest.approx(-float(nll), abs=1e-7)


def test_beam_search_finds_the_sequence_that_the_best_path_misses():
    frames = torch.tensor([[0.6, 0.4], [0.6, 0.4]]).log()  # best path: blank, blank ("")
    assert ctc_greedy(frames[None]) == [[]]
    (labels, score), _ = ctc_beam_search(frames, beam=2)
    assert labels == [1] and math.exp(score) == pytest.approx(0.64)  # 0.4*0.4 + 2 * 0.6*0.4


def test_a_narrow_beam_keeps_the_best_it_can_and_a_beam_below_one_is_refused():
    log_probs = _frames(12, 5, 3)
    assert len(ctc_beam_search(log_probs, beam=1)) == 1
    assert ctc_beam_search(log_probs, beam=16)[0][1] >= ctc_beam_search(log_probs, beam=1)[0][1]
    with pytest.raises(ValueError, match="beam must be at least 1"):
        ctc_beam_search(log_probs, beam=0)
