"""Transcripts for speech to text: written text → what was said, in a small alphabet a CTC model can emit.

`normalize_transcript` writes a transcript the way it is read aloud: lower case, numbers as words
("417" → "four hundred and seventeen", "3.5" → "three point five", "2nd" → "second", with
num2words), a few symbols as words ("%" → "percent", "&" → "and"), other punctuation dropped
(apostrophes inside words kept: "don't"), one space between words. `Alphabet` is the set of
characters of the normalised training transcripts, after the CTC blank (id 0); it encodes and
decodes, and is stored with the run as JSON.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from neuronet.errors import ConfigError, DataError, NotFittedError

__all__ = ["Alphabet", "BLANK", "SPACE", "SpeechTranscripts", "normalize_transcript", "padded"]

BLANK = "<blank>"
SPACE = 1  # the label of the space between words: an Alphabet always puts it right after the blank
MAX_WORDS = 100_000  # the most frequent training words kept as the run's word list
SYMBOLS = {"%": " percent ", "&": " and ", "+": " plus ", "=": " equals ", "@": " at ", "$": " dollars "}
_NUMBER = re.compile(r"(?<!\d)(\d+(?:[.,]\d+)*)(st|nd|rd|th)?\b")
_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "`": "'"})


def _spoken_number(match: re.Match[str]) -> str:
    try:
        from num2words import num2words
    except ImportError:
        raise ConfigError("Transcripts with numbers are read aloud with num2words: pip install 'neuronet[speech]'.") \
            from None

    digits, suffix = match.group(1), match.group(2)
    if suffix:
        return f" {num2words(int(digits.replace(',', '')), to='ordinal')} "
    if re.fullmatch(r"\d{1,3}(,\d{3})+", digits):  # 1,000,000: thousands separators
        return f" {num2words(int(digits.replace(',', '')))} "
    if re.fullmatch(r"\d+\.\d+", digits):  # 3.5: a decimal number
        whole, fraction = digits.split(".")
        return f" {num2words(int(whole))} point {' '.join(num2words(int(d)) for d in fraction)} "
    return " " + " ".join(num2words(int(part)) for part in re.split(r"[.,]", digits) if part) + " "


def normalize_transcript(text: str) -> str:
    """The transcript as it is read aloud: lower case, numbers and a few symbols as words, no other punctuation.

    Example:
        >>> normalize_transcript("Flight 417 leaves at 9:30 -- it's 50% full!")
        "flight four hundred and seventeen leaves at nine thirty it's fifty percent full"
        >>> normalize_transcript("The 2nd of 3.5 apples, 1,000 times.")
        'the second of three point five apples one thousand times'
    """
    text = unicodedata.normalize("NFKC", str(text)).translate(_APOSTROPHES).lower()
    text = _NUMBER.sub(_spoken_number, text)
    for symbol, words in SYMBOLS.items():
        text = text.replace(symbol, words)
    text = text.replace("-", " ")  # "ninety-nine", "well-known": two words as said
    text = "".join(c if c.isalpha() or c == "'" or c.isspace() else " " for c in text)
    words = [w.strip("'") for w in text.split()]
    return " ".join(w for w in words if w)


def padded(rows: list[list[int]], width: int | None = None) -> torch.Tensor:
    """Label lists as one tensor (N, width), padded with 0 (the blank, never a label).

    Example:
        >>> padded([[3, 4], [5]]).tolist()
        [[3, 4], [5, 0]]
    """
    import torch

    width = max([len(r) for r in rows] + [1]) if width is None else width
    out = torch.zeros(len(rows), width, dtype=torch.long)
    for i, row in enumerate(rows):
        out[i, : len(row)] = torch.tensor(row[:width], dtype=torch.long)
    return out


class Alphabet:
    """The characters a CTC model emits, learnt from the normalised training transcripts; id 0 is the blank and
    id 1 the space between words (always there, so that words can be counted from label ids alone).

    Example:
        >>> alphabet = Alphabet.fit(["hello world", "old"])
        >>> alphabet.symbols[:4], alphabet.decode(alphabet.encode("hold"))
        (['<blank>', ' ', 'd', 'e'], 'hold')
    """

    def __init__(self, symbols: Sequence[str]) -> None:
        symbols = list(symbols)
        if len(symbols) < 3 or symbols[0] != BLANK or symbols[1] != " " or len(set(symbols)) != len(symbols) or \
                any(not isinstance(s, str) or len(s) != 1 for s in symbols[1:]):
            raise DataError(f"An alphabet is '{BLANK}', a space, then distinct single characters; got "
                            f"{symbols[:6]!r}{'...' if len(symbols) > 6 else ''}.")
        self.symbols = symbols
        self.index = {s: i for i, s in enumerate(symbols)}

    @classmethod
    def fit(cls, transcripts: Sequence[str]) -> Alphabet:
        """Every character of the (normalised) training transcripts, sorted, after the blank."""
        chars = sorted({c for text in transcripts for c in text} - {" "})
        if not chars:
            raise DataError("The training transcripts are empty; a speech model needs text to learn its characters.")
        return cls([BLANK, " ", *chars])

    def __len__(self) -> int:
        return len(self.symbols)

    def encode(self, text: str) -> list[int]:
        """The ids of `text`'s characters; characters not in the alphabet are left out (see `unknown`)."""
        return [self.index[c] for c in text if c in self.index and c != BLANK]

    def unknown(self, text: str) -> list[str]:
        """The characters of `text` the alphabet lacks (they cannot be emitted, so they are left out)."""
        return sorted({c for c in text if c not in self.index})

    def decode(self, ids: Sequence[int]) -> str:
        """The text of label ids (blanks and ids outside the alphabet left out)."""
        return "".join(self.symbols[i] for i in map(int, ids) if 0 < i < len(self.symbols))

    def to_dict(self) -> dict[str, Any]:
        return {"symbols": self.symbols}

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> Alphabet:
        if not isinstance(state, dict) or not isinstance(state.get("symbols"), list):
            raise ConfigError("A stored alphabet must be {\"symbols\": [\"<blank>\", characters...]}; this one is not.")
        return cls(state["symbols"])


class SpeechTranscripts:
    """Recordings and their transcripts → waveforms (N, samples) padded with zeros, and label ids (N, L) padded
    with 0 (the blank), through an `Alphabet` learnt from the training transcripts only.

    The raw data holds mono waveforms at one rate (the loader resampled them) and normalised
    transcripts. Characters a held-out transcript has and the training ones lack cannot be emitted;
    they are left out of its labels (and so count as errors against the transcript as written).

    Example:
        >>> import torch
        >>> from neuronet.datasets import Dataset
        >>> raw = Dataset([torch.ones(3), torch.ones(5)], ["hi", "oh hi"], "transcription", inputs={"kind": "speech", "rate": 8000})
        >>> ready = SpeechTranscripts().fit(raw).transform(raw)
        >>> ready.x.shape, ready.y.tolist()
        (torch.Size([2, 5]), [[2, 3, 0, 0, 0], [4, 2, 1, 2, 3]])
    """

    kind = "transcripts"  # its name in neuronet.datasets.PREPROCESSORS

    def fit(self, data: Any) -> SpeechTranscripts:
        if data.y is None:
            raise DataError(f"'{data.name}' has no transcripts; a speech model learns from recordings with their text.")
        self.alphabet = Alphabet.fit([str(t) for t in data.y])
        counts = Counter(w for t in data.y for w in str(t).split())
        self.words_ = sorted(w for w, _ in counts.most_common(MAX_WORDS))  # the word list beam search may keep to
        self.clips_ = len(data.x)
        self.seconds_ = float(sum(len(w) for w in data.x) / data.inputs["rate"])
        return self

    def transform(self, data: Any) -> Any:
        import torch

        if not hasattr(self, "clips_"):
            raise NotFittedError("This SpeechTranscripts is not fitted yet; call fit(train) first.")
        waves = list(data.x)
        x = torch.zeros(len(waves), max([len(w) for w in waves] + [1]))
        for i, wave in enumerate(waves):
            x[i, : len(wave)] = torch.as_tensor(wave, dtype=torch.float32)
        y = None
        if data.y is not None:
            y = padded([self.alphabet.encode(str(t)) for t in data.y])
        inputs = {**data.inputs, "kind": "speech", "vocab_size": len(self.alphabet)}
        return replace(data, x=x, y=y, task="transcription", inputs=inputs)

    def summary(self) -> str:
        letters = "".join(self.alphabet.symbols[2:])
        return (f"alphabet: the blank, a space and {len(letters)} characters ({letters[:60]}) learnt from the "
                f"{self.clips_:,} training transcripts; {self.seconds_ / 3600:,.2f} h of training audio")

    def to_dict(self) -> dict[str, Any]:
        return {"alphabet": self.alphabet.to_dict(), "clips": self.clips_, "seconds": self.seconds_,
                "words": self.words_}

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> SpeechTranscripts:
        step = cls()
        step.alphabet = Alphabet.from_dict(state["alphabet"])
        step.clips_, step.seconds_ = int(state["clips"]), float(state["seconds"])
        words = state["words"]
        if not isinstance(words, list) or not all(isinstance(w, str) and w and " " not in w for w in words):
            raise DataError("The stored word list must be a list of words (strings without spaces); this one is not.")
        step.words_ = words
        return step
