"""English -> Spanish translation: neuronet's Transformer and RNN-with-attention translators, each trained for at
most 15 minutes, against copying the source, a word-by-word FreeDict translation and Apertium, on the same verses.

The data: `verses_en_es` (World English Bible / Reina-Valera 1909), split as a run splits it
(`split(val=0.1, test=0.1, seed=0)`); the scores are on the first 500 test verses, the bars'
own set (bench/translation_baselines.py). Each side's byte-level BPE tokenizer (4,000 tokens) is
learnt from the training verses. Training uses the Trainer's `train_step` (teacher forcing) in
batches of 32 pairs until the time budget is spent, with a linear warm-up and a cosine decay over
the budget; the Transformer under bfloat16 autocast (a step of 32 pairs: 0.25 s instead of 0.38 s
in float32 on this CPU's AMX), the RNN in float32 (0.44 s vs 0.46 s: its recurrence is step by
step, not a few large matrix products). Batches of 32 rather than 64 because a time budget favours
more, smaller steps (bench/lm.py's trials: the same lr, batch 32 reached 1.70 nats/char where
batch 64 reached 1.91 in 2 minutes). Every
`EVAL_EVERY` steps the validation loss is measured (not counted as training time) and the weights
of the best are kept. The 500 verses are translated greedily and with beam search (4 beams), and
scored with sacrebleu's defaults (BLEU, chrF).

Goal: both networks clearly above word by word on both metrics; how far from Apertium is said.
Prints a table and writes bench/results/translate.json.

Run: python bench/translate.py [--minutes 15] [--threads 2] [--models transformer rnn]
"""

from __future__ import annotations

import argparse
import time

import torch

from common import print_table, train_for_time, write_json
from translation_baselines import WordByWord, apertium, copy_source, score
import neuronet as nt
from neuronet.datasets.language import SentencePairs

EVAL_EVERY, WARMUP, BATCH, TEST = 250, 200, 32, 500
MODELS = {  # kind, its options, optimizer, peak learning rate, precision
    "transformer": ("transformer_seq2seq", {"dim": 256, "heads": 4, "layers": 3, "dropout": 0.1}, "adamw", 1e-3, "bf16"),
    "rnn": ("rnn_seq2seq", {"cell": "gru", "attention": "bahdanau", "embed_dim": 128, "hidden": 256, "dropout": 0.1},
            "adam", 2e-3, "32"),
}


def train(name: str, step: SentencePairs, train_part: nt.datasets.Dataset, val: nt.datasets.Dataset,
          minutes: float) -> tuple[torch.nn.Module, dict[str, object]]:
    kind, kwargs, optimizer, peak, precision = MODELS[name]
    model = nt.models.build_model(kind, (step.source_len_,), step.target.size, vocab_size=step.source.size, seed=0,
                                  **kwargs)
    trainer = nt.Trainer(model, task="seq2seq", optimizer=optimizer, lr=peak, batch_size=BATCH, grad_clip=1.0,
                         progress=False, seed=0, precision=precision)
    trained = train_for_time(trainer, train_part, val, minutes, peak, WARMUP, EVAL_EVERY, lambda steps, spent, loss:
                             print(f"  {name} {steps:6d} steps {spent:6.1f} s  validation loss {loss:.4f}", flush=True),
                             keep_best=True)
    return model, {**trained, "parameters": sum(p.numel() for p in model.parameters()), "precision": precision}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=15.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--models", nargs="+", default=list(MODELS))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    from neuronet.predict.text import translate_ids

    data = nt.datasets.load("verses_en_es")
    train_raw, val_raw, test_raw = data.split(val=0.1, test=0.1, seed=0)
    sources, references = list(test_raw.x[:TEST]), list(test_raw.y[:TEST])
    step = SentencePairs(tokens="bpe", vocab_size=4000).fit(train_raw)
    train_part, val = step.transform(train_raw), step.transform(val_raw)
    print(f"{len(train_raw):,} training / {len(val_raw):,} validation pairs; {step.summary()}", flush=True)
    results, rows = {}, []
    for name, translate in {"copy the source": copy_source, "word by word (FreeDict)": WordByWord().translate,
                            "Apertium eng-spa (rule-based)": apertium}.items():
        start = time.perf_counter()
        hypotheses = translate(sources)
        results[name] = {**score(hypotheses, references), "seconds": time.perf_counter() - start,
                         "examples": hypotheses[:3]}
        rows.append([name, "-", f"{results[name]['bleu']:.2f}", f"{results[name]['chrf']:.2f}"])
    x = step.encode_sources(sources)
    for name in args.models:
        model, trained = train(name, step, train_part, val, args.minutes)
        for beam in (1, 4):
            start = time.perf_counter()
            ids = translate_ids(model, x, step.target_len_ + step.target_len_ // 2, beam=beam)
            hypotheses = [step.target.decode(row) for row in ids]
            label = f"{name} ({MODELS[name][0]}, {'greedy' if beam == 1 else f'beam {beam}'})"
            results[label] = {**score(hypotheses, references), **trained, "decode_s": time.perf_counter() - start,
                              "examples": hypotheses[:3]}
            rows.append([label, f"{trained['train_s']:.0f}", f"{results[label]['bleu']:.2f}",
                         f"{results[label]['chrf']:.2f}"])
    print_table(f"English -> Spanish, {TEST} test verses (sacrebleu defaults; {args.threads} torch threads)",
                ["system", "train s", "BLEU", "chrF"], rows)
    print(f"\nsource:    {sources[0]}\nreference: {references[0]}")
    for name, result in results.items():
        print(f"{name}: {result['examples'][0]}")
    write_json("translate", {"minutes": args.minutes, "threads": args.threads, "test_verses": TEST,
                             "tokenizer": step.summary(), "results": results})


if __name__ == "__main__":
    main()
