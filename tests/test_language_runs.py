"""Language runs end to end: tokenizers, the pipeline steps, a language model and a translator trained from the
user's own files through the CLI, generation (seeded, streamed, stopped), chat, predict, evaluate and serving."""

import json
import shutil
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

import neuronet as nt
from neuronet.cli import app
from neuronet.datasets import Dataset
from neuronet.datasets.language import CorpusWindows, SentencePairs
from neuronet.datasets.subword import BOS, EOS, PAD, SPECIAL_TOKENS, TextTokenizer
from neuronet.errors import DataError

runner = CliRunner()
GPL = Path("/usr/share/common-licenses/GPL-3")  # a real text on every Debian system
TINY_GPT = ["model.type=gpt", "model.dim=32", "model.heads=2", "model.layers=1", "model.dropout=0.0",
            "data.preprocess.block_size=32", "train.epochs=2", "train.batch_size=32", "train.lr=0.003"]


def invoke(*args, **kwargs):
    return runner.invoke(app, [str(a) for a in args], **kwargs)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    if not GPL.is_file():
        pytest.skip("/usr/share/common-licenses/GPL-3 is not here (Debian's base-files)")
    path = tmp_path_factory.mktemp("text") / "gpl.txt"
    shutil.copy(GPL, path)
    return path


@pytest.fixture(scope="module")
def lm_run(corpus, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("runs")
    result = invoke("train", "--set", f"data.source={corpus}", "--set", "data.options.max_chars=1500",
                    *[a for s in TINY_GPT for a in ("--set", s)], "--set", f"output_dir={out}", "--name", "lm")
    assert result.exit_code == 0, result.output
    return out / "lm"


@pytest.fixture(scope="module")
def pairs_file(tmp_path_factory) -> Path:
    try:
        verses = nt.datasets.load("verses_en_es", limit=300)
    except nt.errors.NeuronetError as why:
        pytest.skip(f"the English-Spanish verses are not installed: {why}")
    import pandas as pd

    path = tmp_path_factory.mktemp("pairs") / "verses.tsv"
    pd.DataFrame({"en": verses.x, "es": verses.y}).to_csv(path, sep="\t", index=False)
    return path


@pytest.fixture(scope="module")
def s2s_run(pairs_file, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("runs")
    result = invoke("train", "--set", f"data.source={pairs_file}", "--set", "data.text=en", "--set", "data.target=es",
                    "--set", "model.type=transformer_seq2seq", "--set", "model.dim=32", "--set", "model.heads=2",
                    "--set", "model.layers=1", "--set", "train.epochs=2", "--set", "data.preprocess.tokens=char",
                    "--set", f"output_dir={out}", "--name", "s2s")
    assert result.exit_code == 0, result.output
    return out / "s2s"


# --- tokenizers and pipeline steps ---------------------------------------------------------------
@pytest.mark.parametrize("kind", ["char", "bpe"])
def test_tokenizers_round_trip_and_keep_the_special_ids(corpus, kind):
    texts = corpus.read_text().split("\n\n")[:60]
    tok = TextTokenizer(kind, vocab_size=400).fit(texts)
    assert [tok.tokenizer_.token_to_id(t) for t in SPECIAL_TOKENS] == [PAD, 1, BOS, EOS]
    for text in texts[:20]:
        assert tok.decode(tok.encode([text])[0]) == text
    again = TextTokenizer.from_dict(json.loads(json.dumps(tok.to_dict())))
    assert again.encode(texts[:5]) == tok.encode(texts[:5])
    if kind == "bpe":  # subwords: fewer tokens than characters, and no unknown character ever
        assert sum(map(len, tok.encode(texts))) < 0.6 * sum(map(len, texts)) and tok.unknown("Ωmega") == []
    else:
        assert tok.unknown("Ωmega") == ["Ω"] and tok.size < 120


def test_a_tampered_tokenizer_is_one_sentence():
    state = TextTokenizer("char").fit(["abc"]).to_dict()
    state["tokenizer"]["model"]["vocab"] = {"a": 0}
    with pytest.raises(DataError, match="special tokens"):
        TextTokenizer.from_dict(state)
    state["tokenizer"] = {"not": "a tokenizer"}
    with pytest.raises(DataError, match="stored tokenizer cannot be read"):
        TextTokenizer.from_dict(state)


def test_corpus_windows_hold_the_stream_and_its_next_tokens():
    texts = ["to be or not to be", "that is the question"]
    step = CorpusWindows(block_size=8).fit(Dataset(texts, None, "language_modeling"))
    windows = step.transform(Dataset(texts, None, "language_modeling"))
    stream = step.stream(texts)  # each text's ids, then <eos>
    assert stream[len(texts[0])] == EOS and len(stream) == sum(map(len, texts)) + 2
    flat_x, flat_y = windows.x.flatten(), windows.y.flatten()
    n = len(stream) - 1
    assert torch.equal(flat_x[:n], stream[:-1]) and torch.equal(flat_y[:n], stream[1:])
    assert (flat_y[n:] == PAD).all()  # the last window's padding: ignored by the loss
    again = CorpusWindows.from_dict(json.loads(json.dumps(step.to_dict())))
    assert torch.equal(again.transform(Dataset(texts, None, "language_modeling")).x, windows.x)


def test_sentence_pairs_frame_targets_with_bos_and_eos_and_cut_long_sentences():
    sources, targets = ["a b c", "d e f g h i j"], ["x y", "z z z z z z z z z"]
    step = SentencePairs(tokens="char", max_len=6).fit(Dataset(sources, targets, "seq2seq"))
    pairs = step.transform(Dataset(sources, targets, "seq2seq"))
    assert pairs.x.shape == (2, 6) and pairs.y.shape == (2, 8)
    assert pairs.y[0, 0] == BOS and EOS in pairs.y[0].tolist() and pairs.y[1, -1] == EOS
    assert step.target.decode(pairs.y[0].tolist()) == "x y"
    assert step.cut_ == (1, 1) and "1 / 1 training sentences cut" in step.summary()


# --- a language model from the user's own text -----------------------------------------------------
def test_a_text_file_trains_a_language_model_that_writes(lm_run):
    metrics = json.loads((lm_run / "metrics.json").read_text())
    assert metrics["test"]["perplexity"] == pytest.approx(torch.tensor(metrics["test"]["loss"]).exp().item(), rel=1e-4)
    assert json.loads((lm_run / "model.json").read_text())["task"] == "language_modeling"
    assert sorted(p.name for p in (lm_run / "samples").iterdir()) == ["epoch_001.txt", "epoch_002.txt"]
    assert len(metrics["examples"]) == 3
    report = (lm_run / "report.md").read_text()
    assert "## Samples by epoch" in report and "## Examples" in report
    state = json.loads((lm_run / "preprocessing.json").read_text())
    assert state["pipeline"]["steps"][0]["tokenizer"]["tokenizer"]["model"]["type"] == "WordLevel"  # its own JSON


def test_generation_is_seeded_streamed_and_stopped(lm_run):
    model = nt.load(lm_run)
    one = model.generate("This License", max_tokens=40, temperature=1.0, seed=7)
    assert one == model.generate("This License", max_tokens=40, temperature=1.0, seed=7)
    assert one != model.generate("This License", max_tokens=40, temperature=1.0, seed=8)
    assert "".join(model.stream("This License", max_tokens=40, temperature=1.0, seed=7)) == one[0]
    greedy = model.generate("the", max_tokens=30, temperature=0.0)[0]
    assert greedy == model.generate("the", max_tokens=30, temperature=0.0, seed=123)[0]  # greedy needs no seed
    for stop in (greedy[5:8], greedy[-4:], "\u2603 never"):  # nothing of a stop string is sent, even while it is
        expected = greedy[: greedy.find(stop)] if stop in greedy else greedy  # still only a possible beginning
        assert model.generate("the", max_tokens=30, temperature=0.0, stop=[stop])[0] == expected
        assert "".join(model.stream("the", max_tokens=30, temperature=0.0, stop=[stop])) == expected
    three = model.generate("", max_tokens=20, beam=3, num=3)
    assert len(three) == 3
    with pytest.raises(nt.errors.ConfigError, match="'max_tokens' of generate must be an int in"):
        model.generate("a", max_tokens=-1)
    with pytest.raises(DataError, match="never saw in training"):
        model.generate("Ωmega")
    with pytest.raises(nt.errors.ConfigError, match="translate\\(\\) needs a seq2seq model"):
        model.translate("hello")


def test_generate_chat_predict_and_evaluate_from_the_command_line(lm_run, tmp_path):
    first = invoke("generate", lm_run, "--prompt", "You may", "--max-tokens", "30", "--seed", "3")
    assert first.exit_code == 0 and first.output.startswith("You may")
    assert invoke("generate", lm_run, "--prompt", "You may", "--max-tokens", "30", "--seed", "3").output == first.output
    line = invoke("generate", lm_run, "--prompt", "You may", "--max-tokens", "60", "--seed", "3", "--stop", "\\n")
    assert line.exit_code == 0 and "\n" not in line.output.rstrip("\n")  # \\n typed in a shell is a line break
    bad = invoke("generate", lm_run, "--prompt", "Ωmega")
    assert bad.exit_code == 1 and "never saw in training" in bad.output and "Ωmega" not in bad.output.split("Error")[0]
    assert invoke("generate", lm_run, "--max-tokens", "-1").exit_code == 1
    chat = invoke("chat", lm_run, "--max-tokens", "20", input="hello\nÜber\nthe end\n\n")
    assert chat.exit_code == 0 and chat.output.count("model> ") == 2 and "never saw 'Ü'" in chat.output
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("The GNU\nYou may\n")
    table = invoke("predict", lm_run, prompts)
    assert table.exit_code == 0 and table.output.splitlines()[0] == "prompt,prediction"
    other = tmp_path / "other.txt"
    other.write_text(GPL.read_text()[:5000])
    scored = invoke("evaluate", lm_run, "--data", other, "--json")
    assert scored.exit_code == 0 and json.loads(scored.output)["perplexity"] > 1


def test_an_empty_corpus_is_one_sentence_and_writes_nothing(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n  \n")
    result = invoke("train", "--set", f"data.source={empty}", "--set", f"output_dir={tmp_path / 'runs'}")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_the_served_language_model_generates_and_streams(lm_run):
    from fastapi.testclient import TestClient

    from neuronet.deploy.server import create_app

    client = TestClient(create_app(lm_run))
    whole = client.post("/generate", json={"prompt": "This", "max_tokens": 25, "seed": 4})
    assert whole.status_code == 200 and whole.json()["texts"] == nt.load(lm_run).generate("This", max_tokens=25,
                                                                                            temperature=0.8, seed=4)
    with client.stream("POST", "/generate", json={"prompt": "This", "max_tokens": 25, "seed": 4, "stream": True}) as s:
        assert s.headers["content-type"].startswith("text/event-stream")
        events = [e for e in "".join(s.iter_text()).split("\n\n") if e]
    pieces = [json.loads(e.removeprefix("data: ")) for e in events if e.startswith("data: ")]
    done = json.loads(events[-1].split("data: ", 1)[1])
    assert events[-1].startswith("event: done") and "".join(p["text"] for p in pieces) == done["text"]
    assert done["text"] == whole.json()["texts"][0]
    for body, says in [({"prompt": "Ω"}, "never saw in training"), ({"max_tokens": -1}, "'max_tokens'"),
                       ({"top_p": 2}, "'top_p'"), ({"stream": True, "num": 2}, "one text")]:
        answer = client.post("/generate", json=body)
        assert answer.status_code == 422 and says in answer.json()["detail"], answer.json()
    assert set(client.post("/predict", json={"text": "The"}).json()) == {"generated"}


# --- translation from a pair file ----------------------------------------------------------------
def test_explain_and_report_on_a_language_model_show_its_attention_and_nothing_that_cannot_apply(lm_run):
    shown = invoke("explain", lm_run, "--examples", "0")
    assert shown.exit_code == 0, shown.output
    assert "skipped" not in shown.output and (lm_run / "explain" / "attention-0.png").stat().st_size > 2000
    explained = json.loads((lm_run / "explain" / "explain.json").read_text())
    assert set(explained) == {"attention", "skipped"} and explained["skipped"] == {}
    tokens = explained["attention"][0]["tokens"]
    assert len(tokens) == 32 and "".join(tokens).replace("␣", " ").replace("⏎", "\n") in GPL.read_text()
    refused = invoke("explain", lm_run, "--tsne")
    assert refused.exit_code == 1 and "tsne does not apply to a language_modeling run; what applies: attention" in \
        refused.output
    report = invoke("report", lm_run)
    assert report.exit_code == 0 and "skipped" not in report.output and "self-attention" not in report.output


def test_the_gpts_attention_weights_are_causal_and_give_the_same_logits():
    model = nt.models.GPT((12,), 30, dim=16, heads=2, layers=3, seed=0).eval()
    idx = torch.randint(4, 30, (2, 12))
    logits, attention = model(idx, return_attention=True)
    assert torch.allclose(logits, model(idx), atol=1e-5) and len(attention) == 3
    for weights in attention:
        assert weights.shape == (2, 2, 12, 12)
        assert torch.allclose(weights.sum(-1), torch.ones(2, 2, 12), atol=1e-5)
        assert weights.triu(1).abs().max() == 0  # no position attends to a later one


def test_the_gpt_in_bfloat16_on_a_cpu_attends_as_in_float32():
    model = nt.models.GPT((16,), 30, dim=32, heads=2, layers=2, dropout=0.0, seed=0)
    idx = torch.randint(4, 30, (3, 16))
    exact = model(idx)
    with torch.autocast("cpu", dtype=torch.bfloat16):  # the written-out attention (see CausalSelfAttention)
        approx = model(idx)
        approx.float().logsumexp(-1).sum().backward()
    assert approx.dtype == torch.bfloat16 and (approx.float() - exact).abs().max() < 0.05
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())


def test_explain_on_a_translator_says_where_its_attention_is(s2s_run):
    shown = invoke("explain", s2s_run)
    assert shown.exit_code == 0 and "no explanation applies to a seq2seq run; its plots (attention.png)" in \
        " ".join(shown.output.split())
    refused = invoke("explain", s2s_run, "--attention")
    assert refused.exit_code == 1 and "attention does not apply to a seq2seq run" in refused.output


def test_a_character_tokenizer_records_no_vocabulary_cap(lm_run):
    step = json.loads((lm_run / "preprocessing.json").read_text())["pipeline"]["steps"][0]
    assert step["tokens"] == "char" and step["vocab_size"] is None and step["tokenizer"]["vocab_size"] is None


def test_a_pair_file_trains_a_translator(s2s_run, pairs_file, tmp_path):
    metrics = json.loads((s2s_run / "metrics.json").read_text())
    assert {"bleu", "chrf", "perplexity", "token_accuracy"} <= set(metrics["test"])
    assert 0 <= metrics["test"]["chrf"] <= 100 and len(metrics["examples"]) == 5
    assert (s2s_run / "plots" / "attention.png").stat().st_size > 2000
    model = nt.load(s2s_run)
    one = model.predict(["In the beginning God created the heavens and the earth."])
    assert isinstance(one, list) and len(one) == 1 and isinstance(one[0], str)
    assert model.translate("In the beginning", beam=2)[0] == model.translate(["In the beginning"], beam=2)[0]
    sentences = tmp_path / "sentences.txt"
    sentences.write_text("In the beginning\nAnd God said\n")
    table = invoke("predict", s2s_run, sentences)
    assert table.exit_code == 0 and table.output.splitlines()[0] == "source,prediction" and len(table.output.splitlines()) == 3
    with pytest.raises(nt.errors.ConfigError, match="generate\\(\\) needs a language_modeling model"):
        model.generate("In")
    from fastapi.testclient import TestClient

    from neuronet.deploy.server import create_app

    answer = TestClient(create_app(s2s_run)).post("/predict", json={"text": "And God said"})
    assert answer.status_code == 200 and answer.json() == {"translation": model.translate("And God said")[0]}


@pytest.mark.parametrize("kind, options", [("transformer_seq2seq", {"dim": 16, "heads": 2, "layers": 1}),
                                           ("rnn_seq2seq", {"embed_dim": 8, "hidden": 16})])
def test_a_translation_batch_is_read_only_as_wide_as_its_longest_sentences(kind, options):
    from neuronet.tasks.language import Seq2Seq

    model = nt.models.build_model(kind, (8,), 20, vocab_size=20, dropout=0.0, seed=0, **options).eval()
    x = torch.tensor([[5, 6, 7, 0, 0, 0, 0, 0], [8, 9, 0, 0, 0, 0, 0, 0]])
    y = torch.tensor([[BOS, 10, 11, EOS, 0, 0, 0], [BOS, 12, EOS, 0, 0, 0, 0]])
    task = Seq2Seq()
    with torch.no_grad():
        out, whole = task.forward(model, x, y), model(x, y[:, :-1])
    assert out.shape[:2] == (2, 3) and task.targets(x, y).tolist() == [[10, 11, EOS], [12, EOS, 0]]
    assert torch.allclose(out, whole[:, :3], atol=1e-5)  # the padding columns changed nothing
    joined = task.join([task.targets(x, y), torch.tensor([[13, EOS]])])
    assert joined.tolist() == [[10, 11, EOS], [12, EOS, 0], [13, EOS, 0]]


def test_a_small_pair_table_is_read_as_pairs_for_a_translation_model(pairs_file, tmp_path):
    small = tmp_path / "ten.tsv"
    small.write_text("\n".join(pairs_file.read_text().splitlines()[:11]) + "\n")
    result = invoke("train", "--set", f"data.source={small}", "--set", "data.text=en", "--set", "data.target=es",
                    "--set", "model.type=rnn_seq2seq", "--set", "model.hidden=16", "--set", "model.embed_dim=8",
                    "--set", "train.epochs=1", "--set", "data.preprocess.tokens=char", "--set", f"output_dir={tmp_path}",
                    "--name", "ten")
    assert result.exit_code == 0, result.output  # 10 rows: too few to tell texts from labels, but the model says
    failed = invoke("generate", tmp_path / "ten", "--prompt", "a")
    assert failed.exit_code == 1 and "not a language model; translate with `neuronet predict" in failed.output


def test_a_pair_file_with_one_column_is_one_sentence(tmp_path):
    path = tmp_path / "one.csv"
    path.write_text("en\n" + "\n".join(f"sentence {i}" for i in range(60)) + "\n")
    result = invoke("train", "--set", f"data.source={path}", "--set", "data.text=en", "--set", "task=seq2seq",
                    "--set", f"output_dir={tmp_path / 'runs'}")
    assert result.exit_code == 1 and "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1


def test_an_rnn_translator_with_attention_trains_through_the_run(pairs_file, tmp_path):
    result = invoke("train", "--set", f"data.source={pairs_file}", "--set", "data.text=en", "--set", "data.target=es",
                    "--set", "model.type=rnn_seq2seq", "--set", "model.attention=luong", "--set", "model.hidden=32",
                    "--set", "model.embed_dim=16", "--set", "train.epochs=1", "--set", "data.limit=120",
                    "--set", f"output_dir={tmp_path}", "--name", "rnn")
    assert result.exit_code == 0, result.output
    assert isinstance(nt.load(tmp_path / "rnn").translate("And God said")[0], str)


@pytest.mark.slow
def test_the_pages_prompt_box_streams_the_text_in_a_real_browser(lm_run):
    from test_deploy import Server, _browser

    sync_api, chromium = _browser()
    expected = nt.load(lm_run).generate("This", max_tokens=40, temperature=0.0)[0]
    server, errors = Server(lm_run), []
    try:
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, headless=True, args=["--no-sandbox"])
            page = browser.new_page()
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(server.url + "/", timeout=30_000)
            page.fill("[name='prompt']", "This")
            page.fill("[name='temperature']", "0")
            page.fill("[name='max_tokens']", "40")
            page.click("#predict")
            page.wait_for_function("document.getElementById('predict').disabled === false && "
                                   "document.getElementById('prediction').textContent.length > 0", timeout=30_000)
            assert page.text_content("#prediction") == expected  # the streamed pieces, joined in the page
            page.fill("[name='prompt']", "Ωmega")
            page.click("#predict")
            page.wait_for_function("document.getElementById('error').textContent.length > 0", timeout=30_000)
            assert "never saw in training" in page.text_content("#error")
            browser.close()
    finally:
        server.stop()
    assert not errors, errors
