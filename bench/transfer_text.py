"""Transfer learning on text: Twitter sentiment with few and many labels, from scratch vs a pretrained encoder.

What it measures: test accuracy, macro-F1, training wall time and test prediction time of five
methods on the built-in `tweets` data set (3 classes: negative / neutral / positive, 37,243
distinct tweets), trained on 500, 5,000 and all labelled training tweets, each row also as a
ratio to TF-IDF + logistic regression trained on the same tweets:

  1. TF-IDF (1-2 grams, min_df 2, sublinear tf) + logistic regression (scikit-learn), the
     reference row. C is picked from 0.3 / 1 / 3 / 10 by validation accuracy (vectorizer and
     model fitted on the size's training part), then vectorizer and model are refitted on all
     n tweets of the size (training + validation part) with that C.
  2. LSTM from scratch, the model / train options of examples/lstm_tweets.yaml.
  3. Transformer encoder from scratch, those of examples/transformer_tweets.yaml.
  4. MiniLM features + head (`model: pretrained, name: minilm-l6, freeze: backbone`, the options of
     examples/minilm_tweets.yaml): feature extraction. Every tweet used by any size (the training
     pool's first max(sizes) tweets and the test tweets: with `all`, the whole corpus) is
     tokenised with MiniLM's tokenizer and embedded ONCE by the frozen encoder
     (`neuronet.transfer.embed`); each size trains only the head (`neuronet.transfer.head_of`) on
     its rows' cached features. The embedding time (loading the encoder, tokenising, embedding)
     is reported on its own, and each row carries its share of it: its train time includes
     embedding time x (train+val rows) / embedded rows, its predict time embedding time x test
     rows / embedded rows plus the head's own prediction time. The tokenizer's length
     (max_len "auto", the 95th percentile of token counts) is fitted on the embedded training-pool
     tweets, never on the test ones; padding is masked out of the mean pooling, so the length
     only decides where the longest 5% of tweets are cut.
  5. MiniLM fully fine-tuned (`freeze: none`) at 500 and 5,000 tweets (`--finetune-sizes`) with the
     `fine_tune` recipe: the new head alone for 1 epoch, then every layer for 2 epochs (head lr
     1e-3, backbone lr 3e-5, batch size 32, dropout 0.1, the validation part monitored).

The split (the same for every size and method): the stratified test part of a run with
`data.test: 0.2` and seed 0 (`neuronet.datasets.split_indices`, as bench/tweets.py: 7,449
tweets). The other 29,794 tweets, in a seeded permutation (numpy, seed 0), are the training
pool; size n takes the pool's first n tweets (`all`: the whole pool), so a smaller size's
tweets are part of every larger size's. From those n, a stratified validation part of
max(10%, 50 tweets) is carved (seed 0), used for early stopping (networks) and for picking C
(TF-IDF); the networks train on the rest. The networks' preprocessing is fitted on the size's
training part only (`nt.datasets.prepare(data, val=..., seed=0, fold=(n rows, test rows),
preprocess=...)`, as a run does: the vocabulary for 2 and 3, MiniLM's tokenizer length for 5),
and models are built with `neuronet.models.build_model` (seed 0) as `neuronet.runs` builds them.

Times (seconds, wall clock, `time.perf_counter`): "train" is everything from raw training
tweets to a fitted model (preprocessing fit, model construction, training with its per-epoch
validation; for TF-IDF the C search and the refit; for 4 the share of the embedding time above);
"predict" is raw test tweets to predicted labels (TF-IDF: transform + predict; networks: a
`neuronet.predict.Predictor`, i.e. the fitted pipeline + the model, batch 1024; 4: see above).
Accuracy and macro-F1 are scikit-learn's `accuracy_score` / `f1_score(average="macro")` of those
labels. The torch thread count is set by `--threads` (default 2) and recorded in the JSON.

Run (writes bench/results/transfer_text.json):
    python bench/transfer_text.py [--sizes 500 5000 all] [--finetune-sizes 500 5000] [--threads 2]
    python bench/transfer_text.py --quick     # smoke check: sizes 200 and 1000 (fine-tuning 200),
                                              # 500 test tweets, 1 epoch each (fine-tuning 1 + 1)
`--methods` runs a subset (tfidf lstm transformer features finetune); `--test-rows` and `--epochs`
override the test size and every network's epochs (both only for smoke checks: the table is then
not comparable with a full run's).
"""

from __future__ import annotations

import argparse
import copy
import inspect
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score

import neuronet as nt
from common import print_table, write_json
from neuronet.config import load_config
from neuronet.datasets import split_indices
from neuronet.models import MODELS, build_model
from neuronet.predict import Predictor
from neuronet.train import resolve_device
from neuronet.train import fine_tune
from neuronet.transfer import embed, head_of

EXAMPLES = Path(__file__).parents[1] / "examples"
METHODS = {"tfidf": "TF-IDF + LR", "lstm": "LSTM (scratch)", "transformer": "Transformer (scratch)",
           "features": "MiniLM features + head", "finetune": "MiniLM fine-tuned"}
C_GRID = (0.3, 1.0, 3.0, 10.0)
FINE_TUNE = {"head_epochs": 1, "full_epochs": 2, "lr": 1e-3, "backbone_lr": 3e-5, "batch_size": 32}
SEED = 0


# --- the split ------------------------------------------------------------------------------------------
def make_split(labels: np.ndarray, test_rows: int | None) -> tuple[np.ndarray, np.ndarray]:
    """(training pool in its seeded order, test rows): the test part of a run with test 0.2, seed 0."""
    rest, _, test = split_indices(len(labels), 0.0, 0.2, SEED, labels=labels)
    if test_rows is not None:  # smoke checks: the first rows of the (already shuffled) test part
        test = test[:test_rows]
    pool = np.random.default_rng(SEED).permutation(np.sort(rest))
    return pool, np.asarray(test)


def val_fraction(n: int) -> float:
    return max(0.1, 50 / n)


def size_split(pool: np.ndarray, n: int, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions (in the pool) of size n's training and validation parts: the split `prepare` makes with
    fold=(pool[:n], ...), val=val_fraction(n), seed 0 (both call split_indices with these arguments)."""
    train_pos, val_pos, _ = split_indices(n, val_fraction(n), 0.0, SEED, labels=labels[pool[:n]])
    return np.asarray(train_pos), np.asarray(val_pos)


# --- scoring ----------------------------------------------------------------------------------------------
def score(true: list[str], pred: Any, classes: list[str]) -> dict[str, float]:
    pred = [str(p) for p in pred]
    return {"accuracy": float(accuracy_score(true, pred)),
            "f1": float(f1_score(true, pred, labels=classes, average="macro", zero_division=0))}


def timed_predict(predictor: Predictor, texts: list[str]) -> tuple[np.ndarray, float]:
    start = time.perf_counter()
    pred = predictor.predict(texts)
    return pred, time.perf_counter() - start


# --- 1. TF-IDF + logistic regression ----------------------------------------------------------------------
def tfidf(texts: list[str], labels: list[str], rows: np.ndarray, train_pos: np.ndarray, val_pos: np.ndarray,
          test: np.ndarray, classes: list[str]) -> dict[str, Any]:
    vectorizer = lambda: TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)  # noqa: E731
    tr, va = rows[train_pos], rows[val_pos]
    start = time.perf_counter()
    vec = vectorizer()
    x_tr, x_va = vec.fit_transform([texts[i] for i in tr]), vec.transform([texts[i] for i in va])
    val_acc = {}
    for c in C_GRID:
        clf = LogisticRegression(max_iter=2000, C=c).fit(x_tr, [labels[i] for i in tr])
        val_acc[c] = float(accuracy_score([labels[i] for i in va], clf.predict(x_va)))
    best_c = max(C_GRID, key=lambda c: (val_acc[c], -c))  # ties: the stronger regularisation
    vec = vectorizer()
    clf = LogisticRegression(max_iter=2000, C=best_c).fit(vec.fit_transform([texts[i] for i in rows]),
                                                           [labels[i] for i in rows])
    train_s = time.perf_counter() - start
    start = time.perf_counter()
    pred = clf.predict(vec.transform([texts[i] for i in test]))
    predict_s = time.perf_counter() - start
    return {**score([labels[i] for i in test], pred, classes), "train_s": train_s, "predict_s": predict_s,
            "C": best_c, "val_accuracy_by_C": {str(c): a for c, a in val_acc.items()}}


# --- 2, 3. networks from scratch ---------------------------------------------------------------------------
def model_kwargs(model_type: str, kwargs: dict[str, Any], train: Any) -> dict[str, Any]:
    """The config's model options plus what `neuronet.runs` adds from the data (vocabulary, padding, seed)."""
    kwargs = dict(kwargs)
    accepted = inspect.signature(MODELS.get(model_type)).parameters
    if "seed" in accepted:
        kwargs.setdefault("seed", SEED)
    inputs = train.model_inputs()
    for key in ("vocab_size", "pad_index"):
        if key in inputs and key in accepted:
            kwargs.setdefault(key, inputs[key])
    return kwargs


def scratch(example: str, data: Any, rows: np.ndarray, test: np.ndarray, true: list[str], classes: list[str],
            epochs: int | None) -> dict[str, Any]:
    config = load_config(EXAMPLES / example)
    options = config.train_options()
    if epochs is not None:
        options["epochs"] = epochs
    start = time.perf_counter()
    prepared = nt.datasets.prepare(data, val=val_fraction(len(rows)), seed=SEED, fold=(rows, test),
                                   preprocess=dict(config.data.preprocess or {}))
    train, val = prepared.train, prepared.val
    model = build_model(config.model.type, train.input_shape, train.num_outputs,
                        **model_kwargs(config.model.type, config.model.kwargs(), train))
    trainer = nt.Trainer(model, task="classification", seed=SEED, progress=False, **options)
    trainer.fit(train, val=val)
    train_s = time.perf_counter() - start
    pred, predict_s = timed_predict(Predictor(model, prepared.pipeline, trainer.task, train.meta()),
                                    [data.x[i] for i in test])
    return {**score(true, pred, classes), "train_s": train_s, "predict_s": predict_s, "epochs": trainer.epoch,
            "train_rows": len(train), "val_rows": len(val)}


# --- 4. MiniLM features + head -----------------------------------------------------------------------------
class Features:
    """The frozen MiniLM encoder and the cached features of every tweet any size uses (embedded once)."""

    def __init__(self, data: Any, pool_rows: np.ndarray, test: np.ndarray) -> None:
        config = load_config(EXAMPLES / "minilm_tweets.yaml")
        self.kwargs, self.options = config.model.kwargs(), config.train_options()
        self.device = resolve_device(self.options.get("device", "auto"))
        start = time.perf_counter()
        prepared = nt.datasets.prepare(data, val=0.0, seed=SEED, fold=(pool_rows, test),
                                       preprocess={"tokenizer": self.kwargs.get("name", "minilm-l6")})
        tokens, test_tokens = prepared.train, prepared.test
        self.tokenize_s = time.perf_counter() - start
        self.model = build_model("pretrained", tokens.input_shape, tokens.num_outputs,
                                 **model_kwargs("pretrained", self.kwargs, tokens))
        self.load_s = time.perf_counter() - start - self.tokenize_s
        self.pool = embed(self.model, tokens, device=self.device)  # in pool order (a val=0 split keeps it)
        self.test = embed(self.model, test_tokens, device=self.device)
        self.seconds = time.perf_counter() - start
        self.rows = len(pool_rows) + len(test)
        self.max_len = prepared.pipeline.steps[0].max_len_
        self.head_init = copy.deepcopy(self.model.net.head.state_dict())

    def run(self, train_pos: np.ndarray, val_pos: np.ndarray, classes: list[str], true: list[str],
            epochs: int | None) -> dict[str, Any]:
        options = dict(self.options)
        if epochs is not None:
            options["epochs"] = epochs
        self.model.net.head.load_state_dict(self.head_init)  # a new head (seed 0) for every size
        start = time.perf_counter()
        trainer = nt.Trainer(head_of(self.model), task="classification", seed=SEED, progress=False, **options)
        trainer.fit(self.pool.subset(train_pos), val=self.pool.subset(val_pos))
        fit_s = time.perf_counter() - start
        start = time.perf_counter()
        pred = np.asarray(classes, dtype=object)[trainer.predict(self.test).cpu().numpy()]
        head_predict_s = time.perf_counter() - start
        n = len(train_pos) + len(val_pos)
        embed_train, embed_test = self.seconds * n / self.rows, self.seconds * len(self.test) / self.rows
        return {**score(true, pred, classes), "train_s": fit_s + embed_train, "predict_s": head_predict_s + embed_test,
                "head_train_s": fit_s, "embed_share_train_s": embed_train, "head_predict_s": head_predict_s,
                "embed_share_predict_s": embed_test, "epochs": trainer.epoch, "train_rows": len(train_pos),
                "val_rows": len(val_pos)}


# --- 5. MiniLM fine-tuned -----------------------------------------------------------------------------------
def finetuned(data: Any, rows: np.ndarray, test: np.ndarray, true: list[str], classes: list[str],
              quick: bool) -> dict[str, Any]:
    kwargs = {k: v for k, v in load_config(EXAMPLES / "minilm_tweets.yaml").model.kwargs().items() if k != "freeze"}
    recipe = {**FINE_TUNE, "full_epochs": 1} if quick else dict(FINE_TUNE)
    start = time.perf_counter()
    prepared = nt.datasets.prepare(data, val=val_fraction(len(rows)), seed=SEED, fold=(rows, test),
                                   preprocess={"tokenizer": kwargs.get("name", "minilm-l6")})
    train, val = prepared.train, prepared.val
    model = build_model("pretrained", train.input_shape, train.num_outputs, freeze="none",
                        **model_kwargs("pretrained", kwargs, train))
    trainer = fine_tune(model, train, val, task="classification", seed=SEED, progress=False, **recipe)
    train_s = time.perf_counter() - start
    pred, predict_s = timed_predict(Predictor(model, prepared.pipeline, trainer.task, train.meta()),
                                    [data.x[i] for i in test])
    return {**score(true, pred, classes), "train_s": train_s, "predict_s": predict_s, "epochs": trainer.epoch,
            "train_rows": len(train), "val_rows": len(val), "recipe": recipe}


# --- main ----------------------------------------------------------------------------------------------------
def parse_size(value: str) -> int | str:
    return "all" if value == "all" else int(value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", type=parse_size, help="labelled training tweets (default 500 5000 all)")
    parser.add_argument("--finetune-sizes", nargs="*", type=parse_size, help="sizes with full fine-tuning "
                        "(default 500 5000)")
    parser.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (default 2)")
    parser.add_argument("--quick", action="store_true", help="smoke check: sizes 200 1000, fine-tuning 200, "
                        "500 test tweets, 1 epoch each")
    parser.add_argument("--methods", nargs="+", choices=list(METHODS), default=list(METHODS))
    parser.add_argument("--test-rows", type=int, help="only the first N test tweets (smoke checks)")
    parser.add_argument("--epochs", type=int, help="epochs of every network (smoke checks)")
    args = parser.parse_args()
    sizes = args.sizes or ([200, 1000] if args.quick else [500, 5000, "all"])
    ft_sizes = args.finetune_sizes if args.finetune_sizes is not None else (
        [min(sizes, key=lambda s: 10**9 if s == "all" else s)] if args.quick else [500, 5000])
    test_rows = args.test_rows or (500 if args.quick else None)
    epochs = args.epochs or (1 if args.quick else None)
    torch.set_num_threads(args.threads)

    data = nt.datasets.load("tweets")
    classes = list(data.class_names)
    labels_idx = data.y.numpy()
    labels = [classes[i] for i in labels_idx]
    pool, test = make_split(labels_idx, test_rows)
    resolved = sorted({len(pool) if s == "all" else s for s in sizes})
    for n in resolved:
        if not 50 < n <= len(pool):
            parser.error(f"a size must be between 51 and {len(pool)} (the training pool), or 'all'; got {n}")
    ft_resolved = [len(pool) if s == "all" else s for s in ft_sizes]
    if "finetune" in args.methods and not set(ft_resolved) <= set(resolved):
        parser.error(f"--finetune-sizes {ft_sizes} must be among --sizes {sizes}")
    true = [labels[i] for i in test]
    print(f"tweets: {len(labels)} rows, {len(test)} test, training pool {len(pool)}; sizes {resolved}; "
          f"fine-tuning {ft_resolved}; torch threads {torch.get_num_threads()}", flush=True)

    for key, example in (("lstm", "lstm_tweets.yaml"), ("transformer", "transformer_tweets.yaml")):
        if key in args.methods:  # untimed: one-time costs (lazy imports, first kernels) stay out of the first row
            scratch(example, data, pool[:100], test[:50], true[:50], classes, 1)

    features = None
    if "features" in args.methods:
        features = Features(data, pool[:max(resolved)], test)
        print(f"  MiniLM: embedded {features.rows} tweets once ({features.max_len} tokens) in "
              f"{features.seconds:.1f} s (tokenising {features.tokenize_s:.1f} s, loading the encoder "
              f"{features.load_s:.1f} s)", flush=True)

    results: list[dict[str, Any]] = []
    for n in resolved:
        rows = pool[:n]
        train_pos, val_pos = size_split(pool, n, labels_idx)
        runs: list[tuple[str, Any]] = []
        if "tfidf" in args.methods:
            runs.append(("tfidf", lambda: tfidf(data.x, labels, rows, train_pos, val_pos, test, classes)))
        if "lstm" in args.methods:
            runs.append(("lstm", lambda: scratch("lstm_tweets.yaml", data, rows, test, true, classes, epochs)))
        if "transformer" in args.methods:
            runs.append(("transformer", lambda: scratch("transformer_tweets.yaml", data, rows, test, true, classes,
                                                        epochs)))
        if features is not None:
            runs.append(("features", lambda: features.run(train_pos, val_pos, classes, true, epochs)))
        if "finetune" in args.methods and n in ft_resolved:
            runs.append(("finetune", lambda: finetuned(data, rows, test, true, classes, args.quick)))
        for key, fn in runs:
            result = {"method": METHODS[key], "key": key, "size": n, "all": n == len(pool), **fn()}
            results.append(result)
            print(f"  {result['method']:<24} n={n:<6} accuracy {result['accuracy']:.4f}  macro-F1 {result['f1']:.4f}"
                  f"  train {result['train_s']:.1f} s  predict {result['predict_s']:.2f} s", flush=True)

    reference = {r["size"]: r for r in results if r["key"] == "tfidf"}
    for r in results:
        ref = reference.get(r["size"])
        r["accuracy_ratio"] = r["accuracy"] / ref["accuracy"] if ref else None
        r["time_ratio"] = r["train_s"] / ref["train_s"] if ref else None
    ratio = lambda v, fmt: "-" if v is None else format(v, fmt)  # noqa: E731
    table = [[r["method"], f"{r['size']} (all)" if r["all"] else r["size"], f"{r['accuracy']:.4f}", f"{r['f1']:.4f}",
              f"{r['train_s']:.2f}", f"{r['predict_s']:.2f}", ratio(r["accuracy_ratio"], ".3f"),
              ratio(r["time_ratio"], ".1f")] for r in results]
    print_table(f"Tweets sentiment (3 classes), {len(test)} test tweets, torch threads {torch.get_num_threads()}"
                + (f"; MiniLM embedding of {features.rows} tweets: {features.seconds:.1f} s (shared out by rows)"
                   if features else ""),
                ["method", "train size", "accuracy", "macro-F1", "train s", "predict s", "acc vs TF-IDF",
                 "time vs TF-IDF"], table)
    payload: dict[str, Any] = {
        "quick": args.quick, "torch_threads": torch.get_num_threads(),
        "split": {"rows": len(labels), "test_rows": len(test), "pool_rows": len(pool), "seed": SEED,
                  "sizes": {str(n): dict(zip(("train", "val"), map(len, size_split(pool, n, labels_idx))))
                            for n in resolved}},
        "settings": {"tfidf_C_grid": list(C_GRID),
                     "fine_tune": {**FINE_TUNE, "full_epochs": 1} if args.quick else FINE_TUNE, "epochs_override": epochs,
                     "configs": ["examples/lstm_tweets.yaml", "examples/transformer_tweets.yaml",
                                 "examples/minilm_tweets.yaml"]},
        "results": results}
    if features is not None:
        payload["embedding"] = {"seconds": features.seconds, "rows": features.rows, "max_len": features.max_len,
                                "tokenize_s": features.tokenize_s, "load_encoder_s": features.load_s,
                                "includes": "tokenising, loading MiniLM, embedding (frozen encoder)"}
    write_json("transfer_text_quick" if args.quick else "transfer_text", payload)


if __name__ == "__main__":
    main()
