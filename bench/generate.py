"""Text generation speed: GPT with its key/value cache vs without it vs Hugging Face transformers' GPT-2.

256 new tokens, greedy, from the same 16-token prompt, one CPU thread, batch 1. Each is
warmed up once and timed 3 times (median). The three models have the same size: dim 128,
4 heads, 4 layers, vocabulary 1,024, block size 512 (the prompt and 256 tokens fit, so the
cache is never cropped). Differences that remain: GPT-2 has biases (ours: bias=False) and the
tanh-approximated GELU; transformers' GPT-2 gets random weights (same init scheme).

Goals: the cache >= 3x over recomputing the whole sequence each step, and not slower than transformers.

Run: python bench/generate.py
"""

from __future__ import annotations

import torch

from common import best_of, print_table, write_json
from neuronet.models import GPT, generate

DIM, HEADS, LAYERS, VOCAB, BLOCK = 128, 4, 4, 1024, 512
NEW_TOKENS, PROMPT, REPEATS = 256, 16, 3


def ours(model: GPT, prompt: torch.Tensor, use_cache: bool) -> torch.Tensor:
    return torch.stack(list(generate(model, prompt, NEW_TOKENS, temperature=0, use_cache=use_cache)), dim=1)


def main() -> None:
    torch.set_num_threads(1)
    prompt = torch.randint(4, VOCAB, (1, PROMPT), generator=torch.Generator().manual_seed(0))
    gpt = GPT((BLOCK,), VOCAB, dim=DIM, heads=HEADS, layers=LAYERS, dropout=0.0, seed=0).eval()
    runs = {"neuronet GPT, cache": lambda: ours(gpt, prompt, True),
            "neuronet GPT, no cache": lambda: ours(gpt, prompt, False)}
    try:
        from transformers import GPT2Config, GPT2LMHeadModel

        config = GPT2Config(vocab_size=VOCAB, n_positions=BLOCK, n_embd=DIM, n_head=HEADS, n_layer=LAYERS,
                            resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0, bos_token_id=None, eos_token_id=None)
        torch.manual_seed(0)
        hf = GPT2LMHeadModel(config).eval()
        mask = torch.ones_like(prompt)

        def transformers_generate() -> torch.Tensor:
            with torch.no_grad():
                return hf.generate(prompt, attention_mask=mask, do_sample=False, max_new_tokens=NEW_TOKENS,
                                   min_new_tokens=NEW_TOKENS, pad_token_id=0)[:, PROMPT:]

        runs["transformers GPT2LMHeadModel"] = transformers_generate
    except ImportError:
        print("transformers is not installed: its row is left out (pip install transformers)")
    assert torch.equal(runs["neuronet GPT, cache"](), runs["neuronet GPT, no cache"]()), "cache changed the tokens"
    results = {}
    for name, fn in runs.items():
        out = fn()  # warm-up
        assert out.shape == (1, NEW_TOKENS), (name, out.shape)
        median, times = best_of(fn, REPEATS)
        results[name] = {"seconds": median, "tokens_per_s": NEW_TOKENS / median, "times": times}
        print(f"  {name}: {NEW_TOKENS / median:,.0f} tokens/s", flush=True)
    cached = results["neuronet GPT, cache"]["tokens_per_s"]
    rows = [[name, f"{r['seconds']:.3f}", f"{r['tokens_per_s']:,.0f}", f"{cached / r['tokens_per_s']:.2f}x"]
            for name, r in results.items()]
    print_table(f"Greedy generation of {NEW_TOKENS} tokens (dim {DIM}, {HEADS} heads, {LAYERS} layers, vocab {VOCAB}, "
                f"1 thread, median of {REPEATS})", ["model", "seconds", "tokens/s", "cache's speed-up"], rows)
    write_json("generate", {"config": {"dim": DIM, "heads": HEADS, "layers": LAYERS, "vocab": VOCAB, "block_size": BLOCK,
                                       "prompt": PROMPT, "new_tokens": NEW_TOKENS, "repeats": REPEATS},
                            "results": results,
                            "cache_vs_no_cache": cached / results["neuronet GPT, no cache"]["tokens_per_s"],
                            "cache_vs_transformers": (cached / results["transformers GPT2LMHeadModel"]["tokens_per_s"]
                                                      if "transformers GPT2LMHeadModel" in results else None)})


if __name__ == "__main__":
    main()
