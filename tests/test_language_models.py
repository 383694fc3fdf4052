"""GPT, the two seq2seq models and decoding: caches against full recomputation, references, hand-worked cases."""

import itertools
import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from neuronet.errors import ConfigError
from neuronet.models import GPT, RNNSeq2Seq, TransformerSeq2Seq, beam_search, filter_logits, generate, sample_next
from neuronet.models.gpt import apply_rotary

PAD, BOS, EOS = 0, 2, 3
GPL = Path("/usr/share/common-licenses/GPL-3")
OPENING = ("The GNU General Public License is a free, copyleft license for software and other kinds of works.\n"
           "The licenses for most software and other practical works are designed to take away your freedom.\n")


def lines(n: int) -> list[str]:
    """n short lines of real text (the GPL-3 preamble)."""
    text = GPL.read_text() if GPL.exists() else OPENING
    found = [line.strip() for line in text.splitlines() if 20 <= len(line.strip()) <= 40]
    return found[:n]


def encode(texts: list[str], chars: str, bos: bool = False, eos: bool = False) -> torch.Tensor:
    """Characters → ids 4.. (after pad, unk, bos, eos), padded with 0 to the longest: (B, T) int64."""
    rows = [[BOS] * bos + [4 + chars.index(c) for c in t] + [EOS] * eos for t in texts]
    width = max(map(len, rows))
    return torch.tensor([r + [PAD] * (width - len(r)) for r in rows])


def make(kind: str, vocab: int = 40, block: int = 32, seed: int = 0):
    small = {"dropout": 0.0, "seed": seed}
    if kind == "gpt":
        return GPT((block,), vocab, dim=32, heads=4, layers=2, **small)
    if kind == "gpt_rotary":
        return GPT((block,), vocab, dim=32, heads=4, layers=2, positions="rotary", **small)
    if kind == "transformer_seq2seq":
        return TransformerSeq2Seq((10,), vocab, vocab_size=vocab + 5, dim=32, heads=4, layers=2, **small)
    cell, attention = kind.split("_")[1:]
    return RNNSeq2Seq((10,), vocab, vocab_size=vocab + 5, cell=cell, attention=attention, embed_dim=16, hidden=24,
                      layers=2, **small)


KINDS = ["gpt", "gpt_rotary", "transformer_seq2seq", "rnn_gru_bahdanau", "rnn_lstm_luong"]
SEQ2SEQ = ["transformer_seq2seq", "rnn_gru_bahdanau", "rnn_lstm_luong", "rnn_gru_luong", "rnn_lstm_bahdanau"]


def source(batch: int = 3) -> torch.Tensor:
    src = torch.randint(4, 45, (batch, 10), generator=torch.Generator().manual_seed(5))
    src[0, 7:] = PAD  # a shorter sentence
    return src


def full(model, seq: torch.Tensor, src: torch.Tensor | None) -> torch.Tensor:
    """Logits (B, T, V) of the whole sequence at once (no cache)."""
    return model(seq) if src is None else model(src, seq)


@pytest.mark.parametrize("kind", KINDS)
def test_cached_next_logits_equal_full_recompute_over_20_steps(kind):
    torch.manual_seed(0)
    model = make(kind).eval().double()
    src = None if kind.startswith("gpt") else source()
    seq = torch.randint(4, 40, (3, 27))
    with torch.no_grad():
        logits, state = model.next_logits(seq[:, :3], model.begin(src, 3))  # the prompt at once
        assert torch.allclose(logits, full(model, seq[:, :3], src)[:, -1], atol=1e-5)
        logits, state = model.next_logits(seq[:, 3:7], state)  # several new tokens after a cache: masked attention
        assert torch.allclose(logits, full(model, seq[:, :7], src)[:, -1], atol=1e-5)
        for t in range(7, 27):  # then one token a step, 20 steps
            logits, state = model.next_logits(seq[:, t:t + 1], state)
            assert torch.allclose(logits, full(model, seq[:, :t + 1], src)[:, -1], atol=1e-5), t


@pytest.mark.parametrize("kind", KINDS)
def test_generate_with_and_without_the_cache_gives_the_same_tokens(kind):
    model = make(kind).eval()
    src = None if kind.startswith("gpt") else source()
    prompt = torch.full((3, 1), BOS)
    cached = torch.stack(list(generate(model, prompt, 12, temperature=0, src=src)), dim=1)
    again = torch.stack(list(generate(model, prompt, 12, temperature=0, src=src, use_cache=False)), dim=1)
    assert cached.shape == (3, 12) and torch.equal(cached, again)


@pytest.mark.parametrize("kind", KINDS)
def test_changing_a_future_token_leaves_earlier_logits_unchanged(kind):
    model = make(kind).eval()
    src = None if kind.startswith("gpt") else source()
    seq = torch.randint(4, 40, (3, 12), generator=torch.Generator().manual_seed(1))
    changed = seq.clone()
    changed[:, 7] = (seq[:, 7] + 1 - 4) % 36 + 4
    with torch.no_grad():
        a, b = full(model, seq, src), full(model, changed, src)
    assert torch.equal(a[:, :7], b[:, :7])
    assert not torch.allclose(a[:, 7:], b[:, 7:])


@pytest.mark.parametrize("kind", ["gpt", "gpt_rotary"])
def test_gpt_past_its_block_size_crops_and_recomputes_like_nanogpt(kind):
    model = make(kind, block=8).eval()
    idx = torch.tensor([[BOS, 5, 9], [BOS, 7, 7]])
    tokens = []
    with torch.no_grad():
        logits, state = model.next_logits(idx, model.begin(None, 2))
        for _ in range(20):  # nanoGPT's generate: crop to the last block_size tokens, run the model, take the last
            idx_cond = idx if idx.size(1) <= model.block_size else idx[:, -model.block_size:]
            expected = model(idx_cond)[:, -1, :]
            assert torch.allclose(logits, expected, atol=1e-5)
            token = expected.argmax(dim=-1, keepdim=True)
            idx = torch.cat([idx, token], dim=1)
            tokens.append(token[:, 0])
            logits, state = model.next_logits(token, state)
    ours = list(generate(model, torch.tensor([[BOS, 5, 9], [BOS, 7, 7]]), 20, temperature=0))
    assert torch.equal(torch.stack(ours), torch.stack(tokens))
    with pytest.raises(ValueError, match="block size is 8"):
        model(torch.zeros(1, 9, dtype=torch.long))


def test_rotary_matches_complex_rotation_and_scores_depend_only_on_relative_position():
    d = 8
    q, k = torch.randn(1, 1, 1, d, dtype=torch.float64), torch.randn(1, 1, 1, d, dtype=torch.float64)

    def reference(x, m):  # channel i and i + d/2 as one complex number, turned by m * 10000 ** (-2i / d)
        z = torch.complex(x[..., : d // 2], x[..., d // 2:])
        theta = m * 10000.0 ** (-torch.arange(0, d, 2, dtype=torch.float64) / d)
        z = z * torch.polar(torch.ones_like(theta), theta)
        return torch.cat([z.real, z.imag], dim=-1)

    for m in (0, 3, 17):
        assert torch.allclose(apply_rotary(q, torch.tensor([m])), reference(q, m), atol=1e-12)

    def score(m, n):
        return (apply_rotary(q, torch.tensor([m])) * apply_rotary(k, torch.tensor([n]))).sum().item()

    for offset in (0, 1, 5):
        same = [score(n + offset, n) for n in (0, 4, 11, 30)]
        assert max(same) - min(same) < 1e-9
    assert abs(score(5, 0) - score(6, 0)) > 1e-6


def test_seeded_sampling_repeats_and_different_seeds_differ():
    model = make("gpt").eval()
    prompt = torch.full((2, 1), BOS)

    def run(seed):
        return torch.stack(list(generate(model, prompt, 16, temperature=1.5, generator=torch.Generator().manual_seed(seed))))

    assert torch.equal(run(0), run(0))
    assert not torch.equal(run(0), run(1))


def test_top_k_and_top_p_on_hand_worked_examples():
    probs = torch.tensor([[0.5, 0.2, 0.15, 0.1, 0.05]])
    logits = probs.log()
    kept = lambda out: torch.isfinite(out)[0].tolist()  # noqa: E731
    # least likely first: cumulative 0.05, 0.15, 0.30, 0.50, 1.00; a token goes when its cumulative <= 1 - p
    assert kept(filter_logits(logits, top_p=0.6)) == [True, True, False, False, False]  # 0.5 + 0.2 > 0.6
    assert kept(filter_logits(logits, top_p=0.75)) == [True, True, True, False, False]
    assert kept(filter_logits(logits, top_p=0.1)) == [True, False, False, False, False]  # the best always stays
    assert kept(filter_logits(logits, top_p=1.0)) == [True] * 5
    assert kept(filter_logits(logits, top_k=3)) == [True, True, True, False, False]
    assert kept(filter_logits(torch.tensor([[1.0, 3.0, 3.0, 2.0]]), top_k=1)) == [False, True, True, False]  # ties stay
    assert kept(filter_logits(logits, top_k=3, top_p=0.6)) == [True, True, False, False, False]
    # renormalised: top-k 2 samples 0 and 1 in proportion 0.5 : 0.2
    draws = sample_next(logits.expand(20000, 5), top_k=2, generator=torch.Generator().manual_seed(0))
    assert set(draws.tolist()) == {0, 1} and abs((draws == 0).float().mean().item() - 5 / 7) < 0.015


def test_filters_match_hugging_face_warpers():
    transformers = pytest.importorskip("transformers")
    logits = torch.randn(6, 50, generator=torch.Generator().manual_seed(0))
    for top_k, top_p in [(5, None), (None, 0.3), (None, 0.9), (10, 0.8)]:
        expected = logits.clone()
        if top_k is not None:
            expected = transformers.TopKLogitsWarper(top_k)(None, expected)
        if top_p is not None:
            expected = transformers.TopPLogitsWarper(top_p)(None, expected)
        assert torch.equal(torch.isinf(filter_logits(logits, top_k, top_p)), torch.isinf(expected)), (top_k, top_p)


def test_temperature_zero_is_greedy_and_one_beam_is_greedy():
    model = make("gpt").eval()
    prompt = torch.tensor([[BOS, 6, 7]])
    ours = [t.item() for t in generate(model, prompt, 10, temperature=0)]
    seq = prompt
    with torch.no_grad():
        for _ in range(10):
            seq = torch.cat([seq, model(seq)[:, -1].argmax(-1, keepdim=True)], dim=1)
    assert ours == seq[0, 3:].tolist()
    assert sample_next(torch.tensor([[0.2, 0.1, 0.9]]), temperature=0).tolist() == [2]
    n = ours.index(ours[4]) + 1  # greedy, stopped at the first time it makes its fifth token, taken as the eos
    best, score = beam_search(model, prompt, beam=1, max_tokens=10, eos=ours[4])[0]
    assert best == ours[:n]
    with torch.no_grad():
        logp = F.log_softmax(model(seq[:, :-1]), dim=-1)[0, 2:2 + n].gather(1, seq[0, 3:3 + n, None]).sum().item()
    assert score == pytest.approx(logp / n, abs=1e-5)


class TableModel:
    """A hand-built decoder whose next-token probabilities depend only on the last token (a fixed table)."""

    def __init__(self) -> None:
        table = torch.full((6, 6), 1e-9)
        table[BOS, [4, 5]] = torch.tensor([0.6, 0.4])  # greedy takes 4 ...
        table[4, [4, EOS, 5]] = torch.tensor([0.5, 0.3, 0.2])  # ... and then 4 forever, never finishing
        table[5, [EOS, 4]] = torch.tensor([0.9, 0.1])  # 5 then eos: log(0.4 * 0.9) / 2 = -0.51 is the best
        table[EOS, EOS] = table[0, 0] = table[1, 1] = 1.0
        self.table = table / table.sum(dim=1, keepdim=True)

    def begin(self, src, batch):
        return torch.full((batch,), BOS)

    def next_logits(self, tokens, state):
        last = tokens[:, -1]
        return self.table[last].log(), last

    def reorder(self, state, index):
        return state[index]


def brute_force(model: TableModel, max_tokens: int, length_penalty: float) -> tuple[list[int], float]:
    """The best length-normalised score over every sequence of up to max_tokens (ended by eos or the limit)."""
    best = ([], -math.inf)
    logp = model.table.log()
    for n in range(1, max_tokens + 1):
        for seq in itertools.product(range(6), repeat=n):
            if EOS in seq[:-1] or (n < max_tokens and seq[-1] != EOS):
                continue
            total = sum(logp[a, b].item() for a, b in zip((BOS, *seq[:-1]), seq))
            score = total / n ** length_penalty
            best = max(best, (list(seq), score), key=lambda pair: pair[1])
    return best


def test_beam_search_finds_the_best_normalised_sequence_that_greedy_misses():
    model = TableModel()
    greedy = [t.item() for t in generate(model, torch.tensor([[BOS]]), 5, temperature=0, eos=EOS)]
    assert greedy == [4, 4, 4, 4, 4]
    results = beam_search(model, torch.tensor([[BOS]]), beam=2, max_tokens=5, eos=EOS)
    assert results[0][0] == [5, EOS]
    assert results[0][1] == pytest.approx(math.log(0.4 * 0.9) / 2, abs=1e-6)
    assert [s for _, s in results] == sorted((s for _, s in results), reverse=True)
    for length_penalty in (0.0, 1.0, 2.0):  # a wide beam finds the exhaustive search's best
        best, score = beam_search(model, torch.tensor([[BOS]]), beam=6, max_tokens=4, eos=EOS,
                                  length_penalty=length_penalty)[0]
        assert (best, pytest.approx(score, abs=1e-6)) == brute_force(model, 4, length_penalty)


@pytest.mark.parametrize("kind", ["gpt", "transformer_seq2seq", "rnn_gru_bahdanau", "rnn_lstm_luong"])
def test_beam_search_on_real_models_is_sorted_and_scores_are_the_models_log_probs(kind):
    model = make(kind).eval()
    src = None if kind == "gpt" else source(1)
    results = beam_search(model, torch.tensor([[BOS]]), beam=3, max_tokens=6, eos=EOS, src=src)
    assert 1 <= len(results) <= 3 and [s for _, s in results] == sorted((s for _, s in results), reverse=True)
    tokens, score = results[0]
    seq = torch.tensor([[BOS, *tokens]])
    with torch.no_grad():
        logp = F.log_softmax(full(model, seq[:, :-1], src), dim=-1)[0].gather(1, seq[0, 1:, None]).sum().item()
    assert score == pytest.approx(logp / len(tokens), abs=1e-4)


def overfit(model, x, y, steps: int, lr: float = 3e-3) -> float:
    """Adam on one fixed batch; returns the last loss."""
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    torch.manual_seed(0)
    model.train()
    for _ in range(steps):
        logits = model(*x)
        loss = F.cross_entropy(logits.flatten(0, 1), y.flatten(), ignore_index=PAD)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return loss.item()


def test_gpt_overfits_a_few_lines_and_greedy_decoding_reproduces_them():
    text = lines(2)
    chars = "".join(sorted(set("".join(text))))
    data = encode(text, chars, bos=True, eos=True)  # (2, T)
    model = GPT((data.shape[1],), 4 + len(chars), dim=48, heads=4, layers=2, dropout=0.0, seed=0)
    assert overfit(model, (data[:, :-1],), data[:, 1:], steps=150, lr=1e-2) < 0.05
    model.eval()
    out = torch.stack(list(generate(model, data[:, :2], data.shape[1], temperature=0, eos=EOS)), dim=1)
    assert torch.equal(out[:, : data.shape[1] - 2], data[:, 2:])  # the rest of each line, eos and padding


@pytest.mark.parametrize("kind", ["transformer_seq2seq", "rnn_gru_bahdanau", "rnn_lstm_luong"])
def test_seq2seq_overfits_reversing_lines_and_batched_greedy_translates_them(kind):
    text = [line[:24] for line in lines(4)]
    chars = "".join(sorted(set("".join(text))))
    src = encode(text, chars)
    tgt = encode([line[::-1] for line in text], chars, bos=True, eos=True)  # [bos] reversed [eos]
    vocab = 4 + len(chars)
    if kind == "transformer_seq2seq":
        model = TransformerSeq2Seq((src.shape[1],), vocab, dim=48, heads=4, layers=2, dropout=0.0, seed=0)
    else:
        _, cell, attention = kind.split("_")
        model = RNNSeq2Seq((src.shape[1],), vocab, cell=cell, attention=attention, embed_dim=32, hidden=64,
                           dropout=0.0, seed=0)
    assert overfit(model, (src, tgt[:, :-1]), tgt[:, 1:], steps=200, lr=1e-2) < 0.05
    model.eval()
    out = torch.stack(list(generate(model, torch.full((4, 1), BOS), 30, temperature=0, eos=EOS, src=src)), dim=1)
    assert torch.equal(out[:, : tgt.shape[1] - 1], tgt[:, 1:])


@pytest.mark.parametrize("kind", SEQ2SEQ)
def test_padded_source_positions_get_zero_attention_and_change_nothing(kind):
    model = make(kind).eval()
    src = source()
    tgt = torch.randint(4, 40, (3, 6), generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        weights = model.cross_attention(src, tgt)  # (B, T, S)
        assert weights.shape == (3, 6, 10)
        assert torch.all(weights[0, :, 7:] == 0) and torch.all(weights[0, :, :7] > 0)
        assert torch.allclose(weights.sum(dim=-1), torch.ones(3, 6), atol=1e-6)
        shorter = model(src[:1, :7], tgt[:1])  # the same sentence without its padding
        assert torch.allclose(model(src, tgt)[:1], shorter, atol=1e-5)


@pytest.mark.parametrize("kind", KINDS)
def test_reorder_selects_and_repeats_rows(kind):
    model = make(kind).eval()
    src = None if kind.startswith("gpt") else source(2)
    prompt = torch.randint(4, 40, (2, 3), generator=torch.Generator().manual_seed(3))
    index = torch.tensor([1, 1, 0])
    with torch.no_grad():
        _, state = model.next_logits(prompt, model.begin(src, 2))
        logits, _ = model.next_logits(torch.tensor([[5], [6], [7]]), model.reorder(state, index))
        expected = full(model, torch.cat([prompt[index], torch.tensor([[5], [6], [7]])], dim=1),
                        None if src is None else src[index])[:, -1]
    assert torch.allclose(logits, expected, atol=1e-5)


def test_bad_decoding_arguments_are_one_sentence_config_errors():
    model = make("gpt").eval()
    prompt = torch.tensor([[BOS]])
    cases = [
        (dict(max_tokens=0), "The 'max_tokens' parameter of generate must be an int >= 1. Got 0 instead."),
        (dict(max_tokens=5, temperature=-1.0), "The 'temperature' parameter of generate must be a float >= 0. Got -1.0 instead."),
        (dict(max_tokens=5, top_p=1.5), "The 'top_p' parameter of generate must be a float in (0, 1] or None. Got 1.5 instead."),
        (dict(max_tokens=5, top_p=0.0), "The 'top_p' parameter of generate must be a float in (0, 1] or None. Got 0.0 instead."),
        (dict(max_tokens=5, top_k=0), "The 'top_k' parameter of generate must be an int >= 1 or None. Got 0 instead."),
    ]
    for kwargs, message in cases:
        with pytest.raises(ConfigError) as error:
            next(generate(model, prompt, **kwargs))
        assert str(error.value) == message
    with pytest.raises(ConfigError, match=r"^The 'beam' parameter of beam_search must be an int >= 1. Got 0 instead.$"):
        beam_search(model, prompt, beam=0)
    with pytest.raises(ConfigError, match="must be a float >= 0"):
        sample_next(torch.zeros(1, 3), temperature=-0.5)
    with pytest.raises(ConfigError, match=r"\(1, t\) tensor of one row"):
        beam_search(model, torch.tensor([[BOS], [BOS]]))


def test_same_seed_same_weights_and_task_attributes():
    for kind in KINDS:
        a, b = make(kind, seed=3), make(kind, seed=3)
        assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
    assert GPT.task == "language_modeling" and TransformerSeq2Seq.task == RNNSeq2Seq.task == "seq2seq"
    gpt = make("gpt")
    residual = gpt.blocks[0].attn.c_proj.weight.std().item()
    assert residual == pytest.approx(0.02 / math.sqrt(2 * 2), rel=0.15)  # nanoGPT's scaled residual init
    assert gpt.lm_head is None and not GPT((8,), 40, tie_weights=False).lm_head is None
