"""Twitter sentiment (3 classes): LSTM and Transformer vs TF-IDF + logistic regression.

All three use the same stratified test part, 20% of the 37,243 distinct tweets (the split a
run makes with data.test: 0.2 and seed 0); the networks are trained with
examples/lstm_tweets.yaml and examples/transformer_tweets.yaml, which also hold out 10% of
the tweets for early stopping (the baseline trains on those too).

Run: python bench/tweets.py
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score

from common import print_table, write_json
from neuronet.config import load_config
from neuronet.datasets import split_indices
from neuronet.datasets.text import tweets_frame
from neuronet.runs import train_run

EXAMPLES = Path(__file__).parents[1] / "examples"


def baseline() -> dict[str, float]:
    frame = tweets_frame()
    texts, labels = frame["text"].astype(str).tolist(), frame["sentiment"].astype(str).tolist()
    train_idx, _, test_idx = split_indices(len(labels), 0.0, 0.2, 0, labels=frame["sentiment"].astype(str).to_numpy())
    start = time.perf_counter()
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
    features = vectorizer.fit_transform([texts[i] for i in train_idx])
    clf = LogisticRegression(max_iter=2000, C=4.0).fit(features, [labels[i] for i in train_idx])
    pred = clf.predict(vectorizer.transform([texts[i] for i in test_idx]))
    true = [labels[i] for i in test_idx]
    return {"accuracy": accuracy_score(true, pred), "f1": f1_score(true, pred, average="macro"),
            "train_s": time.perf_counter() - start}


def main() -> None:
    results = {"TF-IDF (1-2 grams) + logistic regression": baseline()}
    with tempfile.TemporaryDirectory() as out:
        for name, example in (("LSTM (bidirectional)", "lstm_tweets.yaml"), ("Transformer encoder", "transformer_tweets.yaml")):
            run = train_run(load_config(EXAMPLES / example, [f"output_dir={out}"]), progress=False)
            test = run.metrics["test"]
            results[name] = {"accuracy": test["accuracy"], "f1": test["f1"], "train_s": run.metrics["train_time_s"],
                             "epochs": run.trainer.epoch}
            print(f"  {name}: accuracy {test['accuracy']:.4f}, macro-F1 {test['f1']:.4f}", flush=True)
    ref = results["TF-IDF (1-2 grams) + logistic regression"]
    rows = [[name, f"{r['accuracy']:.4f}", f"{r['f1']:.4f}", f"{r['f1'] / ref['f1']:.3f}x", f"{r['train_s']:.0f}"]
            for name, r in results.items()]
    print_table("Tweets sentiment, 7,449 test tweets (3 classes)",
                ["method", "accuracy", "macro-F1", "F1 vs TF-IDF", "train s"], rows)
    write_json("tweets", {"results": results})


if __name__ == "__main__":
    main()
