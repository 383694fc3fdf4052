"""Windows, time-ordered splits, the real sequence sets, and the text pipeline."""

import json

import numpy as np
import pandas as pd
import pytest
import torch

import neuronet as nt
from neuronet.datasets import Dataset, Vocabulary, forecast_split, load_text_table, make_windows, tokenize
from neuronet.errors import DataError


def test_windows_many_to_one_and_many_to_many():
    series = torch.arange(10.0)
    x, y = make_windows(series, input_len=4, horizon=2, stride=3)
    assert x.shape == (2, 4, 1) and x[1, :, 0].tolist() == [3, 4, 5, 6] and y[1].tolist() == [7, 8]
    x, y = make_windows(series, input_len=4, many_to_many=True)
    assert y.shape == (6, 4, 1) and torch.equal(y[:, :-1], x[:, 1:])  # targets are the inputs shifted by one
    with pytest.raises(DataError, match="too short"):
        make_windows(torch.arange(3.0), input_len=4)


def test_forecast_split_never_trains_on_the_test_period():
    series = torch.arange(100.0)
    data = forecast_split(series, input_len=12, horizon=3, test_len=20, name="toy")
    assert float(data.y.max()) < 80  # every training target lies before the last 20 steps
    assert float(data.official_test.y.min()) >= 80 and data.ordered
    train, val, test = data.split(val=0.2)
    # validation is the most recent training windows (with horizon > 1 their targets overlap the
    # last training windows' by horizon - 1 steps; a purge gap belongs to the time-split work of issue 4)
    assert float(val.y[:, 0].min()) > float(train.y[:, 0].max())


def test_ordered_split_keeps_time_order():
    data = Dataset(torch.arange(20.0).unsqueeze(1), torch.arange(20.0), "regression", "t", ordered=True)
    train, val, test = data.split(val=0.2, test=0.2)
    assert train.x[:, 0].tolist() == list(range(12)) and val.x[:, 0].tolist() == [12, 13, 14, 15]
    assert test.x[:, 0].tolist() == [16, 17, 18, 19]


def test_airline_gunpoint_mnist1d():
    airline = nt.datasets.load("airline")
    assert airline.layout == "sequence" and airline.input_shape == (24, 1) and len(airline.official_test) == 24
    assert float(airline.x[0, 0, 0]) == pytest.approx(torch.log(torch.tensor(112.0)).item())  # Jan 1949: 112
    gunpoint = nt.datasets.load("gunpoint")
    assert (len(gunpoint), len(gunpoint.official_test), gunpoint.input_shape) == (50, 150, (150, 1))
    mnist1d = nt.datasets.load("mnist1d")
    assert (len(mnist1d), len(mnist1d.official_test), mnist1d.input_shape, mnist1d.num_outputs) == (4000, 1000, (40, 1), 10)


def test_sequence_scaling_is_per_feature():
    data = Dataset(torch.randn(50, 7, 2) * torch.tensor([1.0, 10.0]), torch.zeros(50, dtype=torch.long),
                   "classification", "s")
    scaler = nt.datasets.Scaler().fit(data)
    assert scaler.shift_.shape == (2,)
    assert torch.allclose(scaler.transform(data).x.std(dim=(0, 1), unbiased=False), torch.ones(2), atol=1e-4)


def test_tokenizer_and_vocabulary_round_trip(tmp_path):
    assert tokenize("I can't WAIT for @Apple #iPhone http://x.co/1 !!") == [
        "i", "can't", "wait", "for", "<user>", "#iphone", "<url>", "!", "!"]
    vocab = Vocabulary.build(["the cat sat", "the dog sat", "a cat"], min_freq=2)
    assert vocab.tokens == ["<pad>", "<unk>", "cat", "sat", "the"]
    ids = vocab.encode(["the bird sat on the cat"], max_len=4)
    assert ids.tolist() == [[4, 1, 3, 1]] and vocab.decode(ids[0].tolist()) == ["the", "<unk>", "sat", "<unk>"]
    path = tmp_path / "vocab.json"
    path.write_text(json.dumps(vocab.to_dict()))
    assert Vocabulary.from_dict(json.loads(path.read_text())).tokens == vocab.tokens
    with pytest.raises(DataError, match="no tokens"):
        vocab.encode(["   "], max_len=4)


def test_tweets_are_deduplicated_token_ids_with_a_training_vocabulary():
    raw = nt.datasets.load("tweets", limit=2000)
    assert raw.layout == "text" and raw.class_names == ["negative", "neutral", "positive"] and len(raw) == 2000
    tweets, _, test = nt.datasets.prepare(raw, val=0.1, test=0.2, seed=0, preprocess={"max_len": 40})
    assert tweets.layout == "tokens" and tweets.input_shape == (40,) and len(tweets) + len(test) == 1800
    assert tweets.model_inputs()["vocab_size"] == len(tweets.vocab) and tweets.vocab.tokens[:2] == ["<pad>", "<unk>"]
    train_rows = {tuple(r) for r in tweets.x.tolist()}
    assert sum(tuple(r) in train_rows for r in test.x.tolist()) < 0.02 * len(test)


def test_text_table_and_its_errors(tmp_path):
    frame = pd.DataFrame({"review": ["good film", "bad film", "great plot", "awful plot"] * 5,
                          "label": ["pos", "neg", "pos", "neg"] * 5})
    path = tmp_path / "reviews.csv"
    frame.to_csv(path, index=False)
    raw = load_text_table(path, text="review", target="label")
    data, _, _ = nt.datasets.prepare(raw, preprocess={"max_len": 5, "min_freq": 1})
    assert data.class_names == ["neg", "pos"] and data.x.shape[1] == 5 and data.layout == "tokens"
    with pytest.raises(DataError, match="Column 'reveiw' is not in .* Did you mean 'review'"):
        load_text_table(path, text="reveiw", target="label")
    frame.loc[3, "review"] = ""
    frame.loc[5, "label"] = "?"
    frame.loc[6, "label"] = " Pos"
    frame.to_csv(path, index=False)
    messy = load_text_table(path, text="review", target="label")  # left out and said, as for tables
    assert len(messy) == 18 and messy.class_names == ["Pos", "neg", "pos"]
    said = " ".join(messy.notes)
    assert "1 row(s) with an empty 'review' left out" in said and "1 row(s) without a 'label' label left out" in said
    assert "classes 'Pos' and 'pos' differ only in case" in said
    with pytest.raises(DataError, match="data.text and data.target both name column 'label'"):
        load_text_table(path, text="label", target="label")


def test_multi_step_forecasting_and_stride():
    data = nt.datasets.load("airline", input_len=12, horizon=6, stride=2)
    assert data.y.shape[1] == 6 and torch.equal(data.x[1, :10], data.x[0, 2:])  # windows start 2 months apart
    model = nt.models.LSTM(data.input_shape, 6, hidden=8, residual=True, seed=0)
    assert model(data.x[:3]).shape == (3, 6)


def test_semicolon_and_tab_separated_files_are_read_as_saved(tmp_path):
    (tmp_path / "semi.csv").write_text("a;b;target\n1,5;2;x\n3;4,25;y\n")  # a spreadsheet's CSV: decimal commas
    (tmp_path / "tabs.tsv").write_text("a\tb\ttarget\n1.5\t2\tx\n3\t4.25\ty\n")
    for name in ("semi.csv", "tabs.tsv"):
        data = nt.datasets.load_table(tmp_path / name, target="target")
        assert data.x.to_numpy().tolist() == [[1.5, 2.0], [3.0, 4.25]] and data.class_names == ["x", "y"]


def test_the_text_length_is_chosen_from_the_training_texts_and_reported():
    texts = [" ".join(["word"] * n) for n in range(1, 101)]  # 1 to 100 words
    data = Dataset(texts, torch.tensor([i % 2 for i in range(100)]))
    enc = nt.datasets.TextEncoder(min_freq=1).fit(data)
    assert enc.max_len_ == 96 and enc.truncated_ == pytest.approx(0.04)  # 95th percentile, rounded up to 8s
    assert "max_len 96 (auto, 4.0% of training texts cut; longest 100 tokens)" in enc.summary()


def test_unknown_loader_option_is_named():
    from neuronet.config import load_config
    from neuronet.errors import ConfigError
    from neuronet.runs.build import plan_run

    with pytest.raises(ConfigError, match=r"airline' \(data.options\) has no parameter 'input_lenn'. Did you mean 'input_len'"):
        plan_run(load_config(None, ["data.source=airline", "model.type=lstm", "data.options={input_lenn: 12}"]))
    with pytest.raises(ConfigError, match="'max_len' is a preprocessing option .* set it under data.preprocess"):
        plan_run(load_config(None, ["data.source=tweets", "model.type=lstm", "data.options={max_len: 12}"]))


def test_a_series_table_in_any_order_with_a_year_column_repeats_and_gaps():
    from sktime.datasets import load_lynx

    from neuronet.datasets.sequences import read_series

    lynx = load_lynx()  # 114 yearly counts, 1821-1934
    frame = pd.DataFrame({"year": lynx.index.year, "lynx": lynx.to_numpy()})
    messy = pd.concat([frame.drop(index=50), frame.iloc[[10]]])  # a year lost, a row pasted twice
    messy = messy.sample(frac=1.0, random_state=0).reset_index(drop=True)  # and shuffled
    messy["lynx"] = messy.lynx.astype(object)
    messy.loc[messy.year == 1900, "lynx"] = "?"
    series, notes = read_series(messy, "lynx", where="lynx.csv")
    expected = frame.drop(index=50).lynx.to_numpy(dtype=np.float32)
    i1900 = int(np.flatnonzero(frame.drop(index=50).year == 1900)[0])
    assert series.shape == (113, 1)
    assert np.allclose(np.delete(series[:, 0].numpy(), i1900), np.delete(expected, i1900))  # in time order
    assert np.isclose(series[i1900, 0], (expected[i1900 - 1] + expected[i1900 + 1]) / 2)  # '?' interpolated
    said = " ".join(notes)
    assert "rows sorted by 'year'" in said and "1 repeated row(s) dropped" in said
    assert "1 place(s) where time steps are missing (e.g. after 1870)" in said
    clash = pd.concat([frame, frame.iloc[[3]].assign(lynx=1.0)])
    with pytest.raises(DataError, match="has two rows for 1824 with different values"):
        read_series(clash, "lynx")


def test_series_options_on_a_table_without_forecasting_say_how(tmp_path):
    from neuronet.config import load_config
    from neuronet.errors import ConfigError
    from neuronet.runs.build import plan_run

    path = tmp_path / "shampoo.csv"
    from sktime.datasets import load_shampoo_sales
    sales = load_shampoo_sales()
    pd.DataFrame({"month": sales.index.astype(str), "sales": sales.to_numpy()}).to_csv(path, index=False)
    with pytest.raises(ConfigError, match="'input_len' is an option of a time series: set task: forecasting"):
        plan_run(load_config(None, [f"data.source={path}", "data.target=sales", "data.options={input_len: 6}"]))
