"""Transcripts for speech to text: normalised as they are read aloud, and the character alphabet a CTC model emits."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neuronet.datasets.transcripts import BLANK, Alphabet, normalize_transcript
from neuronet.errors import ConfigError, DataError


@pytest.mark.parametrize("written, said", [
    ("Four one seven.", "four one seven"),
    ("417", "four hundred and seventeen"),
    ("Call 911!", "call nine hundred and eleven"),
    ("It's 3.25 miles", "it's three point two five miles"),
    ("the 21st and 3rd", "the twenty first and third"),
    ("1,500,000 people", "one million five hundred thousand people"),
    ("mp3 files", "mp three files"),
    ("rock & roll 100%", "rock and roll one hundred percent"),
    ("well-known “quotes” — ‘dashes’", "well known quotes dashes"),
    ("Don’t STOP", "don't stop"),
    ("  \t\n ", ""),
    ("Café NAÏVE", "café naïve"),
])
def test_a_transcript_is_written_as_it_is_read(written, said):
    assert normalize_transcript(written) == said


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.text(max_size=60))
def test_normalised_text_is_letters_apostrophes_and_single_spaces_and_stays_as_it_is(text):
    said = normalize_transcript(text)
    assert all(c.isalpha() or c in " '" for c in said)
    assert "  " not in said and said == said.strip()
    assert normalize_transcript(said) == said


def test_the_alphabet_is_the_blank_then_the_training_characters():
    alphabet = Alphabet.fit(["four one", "seven"])
    assert alphabet.symbols == [BLANK, " ", "e", "f", "n", "o", "r", "s", "u", "v"]
    assert alphabet.encode("seven one") == [7, 2, 9, 2, 4, 1, 5, 4, 2]
    assert alphabet.decode(alphabet.encode("seven one")) == "seven one"
    assert alphabet.encode("zero") == [2, 6, 5] and alphabet.unknown("zero") == ["z"]  # 'z' cannot be emitted
    assert alphabet.decode([0, 3, 0, 99, -1, 5]) == "fo"  # blanks and ids outside left out
    assert Alphabet.from_dict(alphabet.to_dict()).symbols == alphabet.symbols


@pytest.mark.parametrize("state", [{}, {"symbols": "abc"}, {"symbols": ["a", "b"]}, {"symbols": [BLANK, "a", "a"]},
                                   {"symbols": [BLANK, "ab"]}, {"symbols": [BLANK, 7]}, [BLANK, "a"]])
def test_a_tampered_stored_alphabet_is_one_sentence(state):
    with pytest.raises((ConfigError, DataError), match="alphabet"):
        Alphabet.from_dict(state)


def test_an_alphabet_needs_some_text():
    with pytest.raises(DataError, match="transcripts are empty"):
        Alphabet.fit(["", ""])
