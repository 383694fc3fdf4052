"""One data pipeline: split → fit on the training part → transform, the same for runs, folds and predictions."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import neuronet as nt
from neuronet.config import load_config
from neuronet.datasets import PREPROCESSORS, Preprocessor, find_source, load_source, prepare, tokenize
from neuronet.datasets.text import tweets_frame
from neuronet.runs import plan_run
from neuronet.runs.cv import folds_for


@pytest.fixture(scope="module")
def tweets_csv(tmp_path_factory):
    """600 real tweets as a user's CSV: a text column and a label column."""
    frame = tweets_frame().sample(n=600, random_state=1)[["text", "sentiment"]]
    path = tmp_path_factory.mktemp("text") / "tweets.csv"
    frame.rename(columns={"text": "tweet", "sentiment": "mood"}).to_csv(path, index=False)
    return path


def text_config(path, *overrides):
    return load_config(None, [f"data.source={path}", "data.text=tweet", "data.target=mood", "model.type=gru",
                              "model.hidden=8", *overrides])


def test_a_text_table_honours_data_test_and_the_seed(tweets_csv):
    half = plan_run(text_config(tweets_csv, "data.test=0.5", "data.val=0.1"))
    assert len(half.test) == 300 and len(half.train) + len(half.val) == 300
    other_seed = plan_run(text_config(tweets_csv, "data.test=0.5", "data.val=0.1", "seed=7"))
    assert not torch.equal(other_seed.test.x, half.test.x)  # the split follows the run's seed (was: always seed 0)
    # pandas writes a bare carriage return inside a tweet unquoted: the rows are read whole (they were cut in two,
    # and 36 halves without a label left out)
    assert len(half.data) == 600 and not any("left out" in line for line in half.state["summary"])
    assert half.state["summary"][0].startswith("text:") and "max_len" in half.state["summary"][0]


def test_k_fold_cv_holds_out_every_row_exactly_once(tweets_csv):
    folds, split = folds_for(text_config(tweets_csv), 5)
    held_out = np.sort(np.concatenate([test for _, test in folds]))
    assert split == "stratified" and held_out.tolist() == list(range(600))  # all 600 rows (was: 480 of 600)


def test_the_vocabulary_of_a_fold_never_holds_a_word_seen_only_in_its_held_out_rows(tweets_csv):
    config = text_config(tweets_csv, "data.preprocess={min_freq: 1}")
    texts = nt.datasets.load(str(tweets_csv), text="tweet", target="mood").x  # the rows the folds index
    for train_rows, held_rows in folds_for(config, 3)[0]:
        plan = plan_run(config, fold=(train_rows, held_rows))
        vocab = set(plan.train.vocab.tokens[2:])
        training_words = {w for i in train_rows for w in tokenize(texts[i])}
        held_only = {w for i in held_rows for w in tokenize(texts[i])} - training_words
        assert held_only and not vocab & held_only  # there are such words, and none of them is in the vocabulary
        assert vocab <= training_words


def test_data_scale_is_honoured_for_tables(iris_csv):
    for scale, check in (("minmax", lambda x: x.min() >= -1e-6 and x.max() <= 1 + 1e-6),
                         ("none", lambda x: x.max() > 5)):  # iris lengths are in centimetres
        plan = plan_run(load_config(None, [f"data.source={iris_csv}", "data.target=target", "model.type=mlp",
                                           f"data.scale={scale}"]))
        assert check(plan.train.x.numpy()), scale


def test_one_source_registry_picks_the_loader(tmp_path, iris_csv):
    import wave

    audio = tmp_path / "sounds"
    for label in ("low", "high"):
        (audio / label).mkdir(parents=True)
        for i in range(3):
            with wave.open(str(audio / label / f"{i}.wav"), "wb") as f:
                f.setnchannels(1)
                f.setsampwidth(2)
                f.setframerate(8000)
                tone = np.sin(np.arange(4000) * (0.1 if label == "low" else 0.9) * (i + 1)) * 8000
                f.writeframes(tone.astype("<i2").tobytes())
    assert [find_source(s)[0] for s in ("digits", str(iris_csv), str(audio))] == ["builtin", "table", "audio folder"]
    data = load_source(str(audio), options={"duration": 0.5, "n_mels": 16})
    assert data.inputs["kind"] == "audio" and data.class_names == ["high", "low"] and data.x.shape[2] == 16
    with pytest.raises(nt.ConfigError, match="data.text does not apply to builtin source 'digits'"):
        load_source("digits", text="review")


@pytest.mark.parametrize("make", [
    lambda: (nt.datasets.load("wine"), {}),
    lambda: (nt.datasets.load("diabetes"), {}),
    lambda: (nt.datasets.load("tweets", limit=300), {}),
])
def test_every_preprocessor_follows_the_protocol_and_round_trips_through_json(make, messy_frame=None):
    data, options = make()
    prepared = prepare(data, val=0, test=0.3, seed=0, preprocess=options)
    for step in prepared.pipeline.steps:
        assert isinstance(step, Preprocessor) and step.kind in PREPROCESSORS
    again = nt.datasets.Pipeline.from_dict(json.loads(json.dumps(prepared.pipeline.to_dict())))
    _, _, raw_test = data.split(val=0, test=0.3, seed=0)
    a, b = prepared.pipeline.transform(raw_test), again.transform(raw_test)
    assert torch.equal(a.x, b.x) and torch.equal(a.y, b.y)


def test_a_table_pipeline_round_trips_too(tmp_path):
    from sklearn.datasets import load_breast_cancer

    frame = load_breast_cancer(as_frame=True).frame
    frame["site"] = np.where(frame["mean area"] > 600, "big", "small")
    frame.loc[::7, "mean radius"] = np.nan
    frame.to_csv(tmp_path / "c.csv", index=False)
    data = nt.datasets.load(str(tmp_path / "c.csv"), target="target")
    prepared = prepare(data, val=0.1, test=0.2, seed=0)
    again = nt.datasets.Pipeline.from_dict(json.loads(json.dumps(prepared.pipeline.to_dict())))
    _, _, raw_test = data.split(val=0.1, test=0.2, seed=0)
    assert torch.equal(prepared.pipeline.transform(raw_test).x, again.transform(raw_test).x)
    assert prepared.pipeline.steps[0].kind == "table" and torch.isfinite(prepared.train.x).all()
